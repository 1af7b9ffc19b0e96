from codegen.cli import entry

entry()

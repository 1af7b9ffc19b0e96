"""flowgen: design-first event-driven systems.

Everything flowgen installs lives under this one import namespace, so it can share an environment
with any other package: `flowgen_design.grammar` (the Lark grammar), `flowgen_design.dsl` (the front
end) and `flowgen_design.codegen` (targets and the writer), with dependencies running one way
(grammar <- dsl <- codegen), and `flowgen_design.cli`, the `flowgen` command. In a source checkout
the three sub-packages are the top-level folders `grammar/`, `dsl/` and `codegen/`; the build maps
them in here (see `[tool.setuptools.package-dir]` in pyproject.toml).
"""

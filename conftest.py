# Makes the repository root importable for tests run from a checkout (dsl, codegen, grammar).

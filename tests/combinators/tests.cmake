set(LOOM_TEST_LIBS_combinators -rdynamic)

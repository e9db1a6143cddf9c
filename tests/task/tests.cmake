# Task dumps name the test's own functions through dladdr: export them.
set(LOOM_TEST_LIBS_task -rdynamic)

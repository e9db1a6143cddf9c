# Coroutine tests print backtraces of suspended stacks; -rdynamic exports the
# test's own functions so dladdr can name them.
set(LOOM_TEST_LIBS_coro -rdynamic)

# bench/coro: W1a, the raw context switch.  Peers: Boost.Context's fcontext
# (C++, libboost-context-dev) and POSIX ucontext; every other *.c here is a
# loom program (e.g. w1a_loom.c -> bench_coro_w1a_loom).
loom_bench_programs(coro EXCLUDE w1a_ucontext.c)
loom_bench_peer(coro w1a_ucontext.c)
find_library(LOOM_BOOST_CONTEXT boost_context)
if(LOOM_BOOST_CONTEXT)
  enable_language(CXX)
  loom_bench_peer(coro w1a_fcontext.cpp ${LOOM_BOOST_CONTEXT})
else()
  message(STATUS "bench: libboost-context-dev missing, W1a fcontext peer not built")
endif()

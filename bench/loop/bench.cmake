# bench/loop: W7, a million timers.  Peer: libuv's uv_timer (libuv1-dev);
# every other *.c here is a loom program (w7_loom.c -> bench_loop_w7_loom).
loom_bench_programs(loop EXCLUDE w7_libuv.c)
find_library(LOOM_LIBUV uv)
if(LOOM_LIBUV)
  loom_bench_peer(loop w7_libuv.c ${LOOM_LIBUV})
else()
  message(STATUS "bench: libuv1-dev missing, libuv peers not built")
endif()

# bench/net: W5, TCP echo, and W5c, 100,000 connections.  The shared load
# generators (loadgen.c, c100k_client.c), the
# hand-written epoll reference server (echo_epoll.c) and the libuv server
# (echo_libuv.c, libuv1-dev) are standalone programs; every other *.c here
# is a loom program (e.g. w5_loom.c -> bench_net_w5_loom).
loom_bench_programs(net EXCLUDE loadgen.c c100k_client.c echo_epoll.c echo_libuv.c)
loom_bench_peer(net loadgen.c)
loom_bench_peer(net c100k_client.c)
loom_bench_peer(net echo_epoll.c)
find_library(LOOM_LIBUV uv)
if(LOOM_LIBUV)
  loom_bench_peer(net echo_libuv.c ${LOOM_LIBUV})
endif()

# W3 benchmarks: loom's thread pool and the libuv peer (uv_queue_work).
# The libuv peer needs libuv1-dev (scripts/deps/bench.txt); without it only
# loom's program is built and the driver marks the row unavailable.
add_executable(bench_futures_w3_loom ${CMAKE_CURRENT_LIST_DIR}/w3_loom.c)
target_link_libraries(bench_futures_w3_loom PRIVATE loom_static)
target_compile_definitions(bench_futures_w3_loom PRIVATE _GNU_SOURCE)

find_package(PkgConfig QUIET)
if(PkgConfig_FOUND)
  pkg_check_modules(LIBUV QUIET IMPORTED_TARGET libuv)
endif()
if(LIBUV_FOUND)
  add_executable(bench_futures_w3_libuv ${CMAKE_CURRENT_LIST_DIR}/w3_libuv.c)
  target_link_libraries(bench_futures_w3_libuv PRIVATE PkgConfig::LIBUV)
  set_target_properties(bench_futures_w3_libuv PROPERTIES INTERPROCEDURAL_OPTIMIZATION OFF)
else()
  message(STATUS "libuv not found: bench_futures_w3_libuv not built")
endif()

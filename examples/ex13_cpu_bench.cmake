# ex13_cpu_bench: OpenSSL's libcrypto (libssl-dev, scripts/deps/process.txt, installed
# by `make test`).  Without it the example is left out of the default build
# rather than failing the whole configure.
find_library(LOOM_LIBCRYPTO crypto)
find_path(LOOM_OPENSSL_INCLUDE openssl/evp.h)
if(LOOM_LIBCRYPTO AND LOOM_OPENSSL_INCLUDE)
  target_link_libraries(ex13_cpu_bench PRIVATE ${LOOM_LIBCRYPTO})
else()
  message(STATUS "ex13_cpu_bench: libcrypto not found (install libssl-dev), not built by default")
  set_target_properties(ex13_cpu_bench PROPERTIES EXCLUDE_FROM_ALL ON)
endif()

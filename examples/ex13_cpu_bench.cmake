# ex13_cpu_bench: SHA-256 comes from OpenSSL's libcrypto (scripts/deps/process.txt).
find_library(LOOM_LIBCRYPTO crypto REQUIRED)
target_link_libraries(ex13_cpu_bench PRIVATE ${LOOM_LIBCRYPTO})

# ex01_encrypt: AES-256-CBC and PBKDF2 from OpenSSL's libcrypto (scripts/deps/process.txt).
find_library(LOOM_LIBCRYPTO crypto REQUIRED)
target_link_libraries(ex01_encrypt PRIVATE ${LOOM_LIBCRYPTO})

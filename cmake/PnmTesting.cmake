# pnm_add_test(NAME <exe> SOURCES <files...> LIBS <targets...> [TIMEOUT <s>])
# One executable per block; CTest runs it with gtest_discover_tests so each
# TEST is its own CTest entry (and its own process: a fresh SystemC kernel).
# Do not link GTest::gtest_main: tests/support/test_main.cpp provides main.
enable_testing()
include(GoogleTest)
function(pnm_add_test)
  cmake_parse_arguments(T "" "NAME;TIMEOUT" "SOURCES;LIBS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  # tests/support/test_main.cpp is the entry point (gtest, and the sc_main
  # symbol libsystemc needs); each TEST runs in its own process under CTest,
  # so every test gets a fresh SystemC kernel.
  add_executable(${T_NAME} ${T_SOURCES} ${PROJECT_SOURCE_DIR}/tests/support/test_main.cpp)
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} pnm_common GTest::gtest) # pnm_common: test_main installs the report handler
  target_compile_definitions(${T_NAME} PRIVATE PNM_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  gtest_discover_tests(${T_NAME} DISCOVERY_MODE PRE_TEST
    PROPERTIES TIMEOUT ${T_TIMEOUT} ENVIRONMENT "PNM_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()

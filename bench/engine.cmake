# Attention engine benchmark (a program that prints figures, not a test).
# Included from bench/CMakeLists.txt: include(${CMAKE_CURRENT_SOURCE_DIR}/engine.cmake)
add_executable(bench_engine ${CMAKE_CURRENT_LIST_DIR}/bench_engine.cpp)
target_link_libraries(bench_engine PRIVATE pnm_engine pnm_platform)
set_target_properties(bench_engine PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR})

# Installation and the exported CMake package (docs/EMBEDDING.md).
#
#   cmake --install build --prefix PREFIX
# gives
#   PREFIX/include/pnmvp/...         headers: pnmvp/hw/*.h, the model folders
#                                    (common/, cxl/, dram/, ...), the platform
#                                    headers (pnm_device.h, system.h, ...) and
#                                    the host software (driver/, kernels/, ...)
#   PREFIX/lib/libpnm_*.a            the static libraries
#   PREFIX/lib/cmake/pnmvp/          find_package(pnmvp): pnmvp::device (the
#                                    device model and what it needs),
#                                    pnmvp::driver (the host driver), and every
#                                    other library as pnmvp::<name without pnm_>
#   PREFIX/lib/pkgconfig/pnmvp.pc    the same for pkg-config
#   PREFIX/share/pnmvp/platforms/    platform, system, memspec, engine, model
#                                    files, workloads (and gpus/, nics/ when present)
#   PREFIX/share/pnmvp/firmware/pnm_fw.elf   the controller firmware
# Nothing installed names the build or source tree: the package config
# computes its paths from where it lies, and tells the programs built
# against it where share/pnmvp is (common/resources.h).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(PNMVP_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/pnmvp)
set(PNMVP_INSTALL_SHAREDIR ${CMAKE_INSTALL_DATADIR}/pnmvp)

# The libraries installed: these roots and every library of this project
# they link, found by walking their link lists (a new dependency needs no
# edit here). Result in dependency order, dependents first (for pkg-config).
set(_pnm_install_roots pnm_device pnm_driver pnm_workload pnm_kernels pnm_mbox_tools pnm_npy)
set(_pnm_visited "")
set(_pnm_order "")
function(_pnm_walk t)
  list(FIND _pnm_visited ${t} seen)
  if(NOT seen EQUAL -1)
    return()
  endif()
  list(APPEND _pnm_visited ${t})
  set(_pnm_visited ${_pnm_visited} PARENT_SCOPE)
  get_target_property(type ${t} TYPE)
  set(deps "")
  if(NOT type STREQUAL "INTERFACE_LIBRARY")
    get_target_property(d ${t} LINK_LIBRARIES)
    if(d)
      list(APPEND deps ${d})
    endif()
  endif()
  get_target_property(d ${t} INTERFACE_LINK_LIBRARIES)
  if(d)
    list(APPEND deps ${d})
  endif()
  foreach(dep ${deps})
    string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" dep "${dep}")
    if(TARGET ${dep})
      get_target_property(imported ${dep} IMPORTED)
      get_target_property(aliased ${dep} ALIASED_TARGET)
      if(NOT imported AND NOT aliased)
        _pnm_walk(${dep})
      endif()
    endif()
  endforeach()
  list(PREPEND _pnm_order ${t})
  set(_pnm_visited ${_pnm_visited} PARENT_SCOPE)
  set(_pnm_order ${_pnm_order} PARENT_SCOPE)
endfunction()
foreach(root ${_pnm_install_roots})
  _pnm_walk(${root})
endforeach()

# Include folders of the build tree stay build-only; installed users get
# include/ (for <pnmvp/...>) and include/pnmvp (for the headers' own
# "common/config.h" style includes).
foreach(t ${_pnm_order})
  foreach(prop INTERFACE_INCLUDE_DIRECTORIES INTERFACE_SYSTEM_INCLUDE_DIRECTORIES)
    get_target_property(dirs ${t} ${prop})
    if(dirs)
      set(wrapped "")
      foreach(d ${dirs})
        if(d MATCHES "^\\$<")
          list(APPEND wrapped "${d}")
        else()
          list(APPEND wrapped "$<BUILD_INTERFACE:${d}>")
        endif()
      endforeach()
      set_property(TARGET ${t} PROPERTY ${prop} "${wrapped}")
    endif()
  endforeach()
  target_include_directories(${t} INTERFACE $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
                                            $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/pnmvp>)
  string(REGEX REPLACE "^pnm_" "" export_name ${t})
  set_target_properties(${t} PROPERTIES EXPORT_NAME ${export_name})
endforeach()
# The same names inside a build that includes pnmvp with add_subdirectory.
add_library(pnmvp::device ALIAS pnm_device)
add_library(pnmvp::driver ALIAS pnm_driver)

install(TARGETS ${_pnm_order} EXPORT pnmvpTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(EXPORT pnmvpTargets NAMESPACE pnmvp:: DESTINATION ${PNMVP_INSTALL_CMAKEDIR})

# Headers: the folder structure the sources include by.
install(DIRECTORY include/pnmvp/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/pnmvp FILES_MATCHING PATTERN "*.h")
install(DIRECTORY models/ sw/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/pnmvp FILES_MATCHING PATTERN "*.h")
file(GLOB _pnm_platform_headers ${CMAKE_CURRENT_SOURCE_DIR}/platforms/*.h)
install(FILES ${_pnm_platform_headers} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/pnmvp)

# Run-time data.
install(DIRECTORY platforms/ DESTINATION ${PNMVP_INSTALL_SHAREDIR}/platforms
  PATTERN cli EXCLUDE PATTERN "*.cpp" EXCLUDE PATTERN "*.h" EXCLUDE PATTERN "CMakeLists.txt" EXCLUDE)
if(PNMVP_BUILD_FIRMWARE)
  get_target_property(_pnm_fw_elf fw_pnm_fw ELF_FILE)
  install(FILES ${_pnm_fw_elf} DESTINATION ${PNMVP_INSTALL_SHAREDIR}/firmware RENAME pnm_fw.elf)
endif()
install(FILES LICENSE NOTICE CITATION.cff DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/pnmvp OPTIONAL)

# find_package(pnmvp)
configure_package_config_file(cmake/pnmvpConfig.cmake.in ${PROJECT_BINARY_DIR}/pnmvpConfig.cmake
  INSTALL_DESTINATION ${PNMVP_INSTALL_CMAKEDIR}
  PATH_VARS PNMVP_INSTALL_SHAREDIR CMAKE_INSTALL_INCLUDEDIR)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/pnmvpConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/pnmvpConfig.cmake ${PROJECT_BINARY_DIR}/pnmvpConfigVersion.cmake
  cmake/pnmvp_share_root.cpp.in DESTINATION ${PNMVP_INSTALL_CMAKEDIR})

# pkg-config: static libraries, so every one in link order.
set(PNMVP_PC_LIBS "")
foreach(t ${_pnm_order})
  get_target_property(type ${t} TYPE)
  if(NOT type STREQUAL "INTERFACE_LIBRARY")
    string(APPEND PNMVP_PC_LIBS " -l${t}")
  endif()
endforeach()
# prefix relative to the .pc file, so the installed tree can move
string(REGEX REPLACE "[^/]+" ".." PNMVP_PC_UP "/${CMAKE_INSTALL_LIBDIR}/pkgconfig")
configure_file(cmake/pnmvp.pc.in ${PROJECT_BINARY_DIR}/pnmvp.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/pnmvp.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

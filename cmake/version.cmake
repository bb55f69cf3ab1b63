# Writes version.cpp from version.cpp.in with the source tree's git commit; run
# at every build (a custom target), and the file is rewritten only when the
# commit changes, so a commit does not force a rebuild of everything.
# Inputs: SRC (the .in file), DST, GIT_DIR_ROOT (source root), PROJECT_VERSION.
execute_process(COMMAND git -C "${GIT_DIR_ROOT}" rev-parse HEAD OUTPUT_VARIABLE PNM_GIT_COMMIT
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE rc)
if(NOT rc EQUAL 0 OR PNM_GIT_COMMIT STREQUAL "")
  set(PNM_GIT_COMMIT "unknown")
else()
  execute_process(COMMAND git -C "${GIT_DIR_ROOT}" status --porcelain --untracked-files=no OUTPUT_VARIABLE dirty
                  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(NOT dirty STREQUAL "")
    set(PNM_GIT_COMMIT "${PNM_GIT_COMMIT}+dirty")
  endif()
endif()
configure_file("${SRC}" "${DST}.tmp" @ONLY)
file(COPY_FILE "${DST}.tmp" "${DST}" ONLY_IF_DIFFERENT)

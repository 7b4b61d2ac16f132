# `cmake --install <build> --prefix P`: the libraries, the public headers under P/include/ember
# (a program includes "core/tensor.h", "nn/nn.h", ... as the sources do), ember-run, the CMake
# package `ember` (targets ember::core ... ember::trainer and ember::ember for all) and ember.pc
# for pkg-config. Included from the top-level CMakeLists.txt after the libraries are defined.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(EMBER_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/ember)
set(EMBER_INSTALL_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR}/ember)

# Each library's exported name: ember_nn is ember::nn.
set(EMBER_LIBRARIES ember_kernels ember_core ember_io ember_nn ember_optim ember_data ember_distributed ember_trainer)
foreach(library IN LISTS EMBER_LIBRARIES ITEMS ember)
  string(REGEX REPLACE "^ember_" "" exported ${library})
  set_target_properties(${library} PROPERTIES EXPORT_NAME ${exported})
  add_library(ember::${exported} ALIAS ${library})
  target_include_directories(${library} INTERFACE $<INSTALL_INTERFACE:${EMBER_INSTALL_INCLUDEDIR}>)
endforeach()
# Shared libraries find each other where they are installed (libember_nn.so needs libember_io.so;
# a program's own RUNPATH does not reach its libraries' dependencies).
set_target_properties(${EMBER_LIBRARIES} PROPERTIES INSTALL_RPATH "$ORIGIN")

install(TARGETS ${EMBER_LIBRARIES} ember EXPORT emberTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS ember-run RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT emberTargets NAMESPACE ember:: DESTINATION ${EMBER_INSTALL_CMAKEDIR})

# The public headers: every header of the layers above kernels/, less the op layer's internals
# (the dispatch helpers, the in-place mechanism, TensorImpl, the CUDA runtime wrappers, the NCCL
# backend, which needs CUDA's headers and is reached through init_process_group), plus
# the few kernels/ headers they include (DType, Error, the optimizer hyper-parameters).
# tools/check_package.sh compiles each installed header on its own and fails on an include
# that is not installed.
set(EMBER_INTERNAL_HEADERS core/ops/op_utils.h core/ops/in_place.h core/tensor_impl.h
    distributed/nccl_process_group.h)
file(GLOB_RECURSE EMBER_PUBLIC_HEADERS RELATIVE ${PROJECT_SOURCE_DIR}
     core/*.h io/*.h nn/*.h optim/*.h data/*.h distributed/*.h trainer/*.h)
list(FILTER EMBER_PUBLIC_HEADERS EXCLUDE REGEX "^core/cuda/")
list(REMOVE_ITEM EMBER_PUBLIC_HEADERS ${EMBER_INTERNAL_HEADERS})
list(APPEND EMBER_PUBLIC_HEADERS kernels/error.h kernels/scalar_type.h kernels/dtype.h kernels/host_device.h
     kernels/optimizer_formulas.h)
foreach(header IN LISTS EMBER_PUBLIC_HEADERS)
  get_filename_component(directory ${header} DIRECTORY)
  install(FILES ${header} DESTINATION ${EMBER_INSTALL_INCLUDEDIR}/${directory})
endforeach()

# What the exported targets need found again in the consumer's project.
set(EMBER_CONFIG_DEPENDENCIES "find_dependency(Threads)\nfind_dependency(OpenMP)\nfind_dependency(Eigen3 3.4 NO_MODULE)\n"
    "find_dependency(ZLIB)\nfind_dependency(nlohmann_json 3)\n")
if(EMBER_GLOO)
  string(APPEND EMBER_CONFIG_DEPENDENCIES "find_dependency(Gloo)\n")
endif()
if(EMBER_CUDA)
  string(APPEND EMBER_CONFIG_DEPENDENCIES "find_dependency(CUDAToolkit)\n")
endif()
string(JOIN "" EMBER_CONFIG_DEPENDENCIES ${EMBER_CONFIG_DEPENDENCIES})
configure_package_config_file(cmake/emberConfig.cmake.in ${PROJECT_BINARY_DIR}/emberConfig.cmake
                              INSTALL_DESTINATION ${EMBER_INSTALL_CMAKEDIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/emberConfigVersion.cmake COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/emberConfig.cmake ${PROJECT_BINARY_DIR}/emberConfigVersion.cmake
        DESTINATION ${EMBER_INSTALL_CMAKEDIR})

# pkg-config: the same libraries, in link order, then what they link (listed for static and
# shared builds alike), with the definitions the headers test.
set(EMBER_PC_DEFINITIONS "-DEMBER_CUDA=$<BOOL:${EMBER_CUDA}> -DEMBER_GLOO=$<BOOL:${EMBER_GLOO}> -DEMBER_NCCL=$<BOOL:${EMBER_NCCL}>")
set(EMBER_PC_LIBS "-lz")
if(EMBER_GLOO)
  string(APPEND EMBER_PC_LIBS " -lgloo")
endif()
if(EMBER_CUDA)
  string(APPEND EMBER_PC_LIBS " -L${CUDAToolkit_LIBRARY_DIR} -lcudart -lcublasLt ${CUDNN_LIBRARY}")
  if(EMBER_NCCL)
    string(APPEND EMBER_PC_LIBS " ${NCCL_LIBRARY}")
  endif()
endif()
configure_file(cmake/ember.pc.in ${PROJECT_BINARY_DIR}/ember.pc.configured @ONLY)
file(GENERATE OUTPUT ${PROJECT_BINARY_DIR}/ember.pc INPUT ${PROJECT_BINARY_DIR}/ember.pc.configured)
install(FILES ${PROJECT_BINARY_DIR}/ember.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

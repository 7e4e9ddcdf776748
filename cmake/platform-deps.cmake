# Optional per-platform dependencies, included by the top CMakeLists.txt
# after the attestverify library is defined.  Each platform appends its own
# block; keep them independent.

# TPM 2.0 quotes (src/evidence/tpm*.c, azure_vtpm.c): tpm2-tss's
# marshalling library unmarshals every TPM structure.
pkg_check_modules(TSS2_MU REQUIRED IMPORTED_TARGET tss2-mu)
target_link_libraries(attestverify PUBLIC PkgConfig::TSS2_MU)

# NVIDIA GPU RIMs (src/evidence/nvidia_rim.c): libxml2 parses the TCG SWID
# tags, xmlsec1 (OpenSSL flavour) checks their XML signatures.
pkg_check_modules(XML2 REQUIRED IMPORTED_TARGET libxml-2.0)
pkg_check_modules(XMLSEC REQUIRED IMPORTED_TARGET xmlsec1-openssl)
target_link_libraries(attestverify PUBLIC PkgConfig::XML2 PkgConfig::XMLSEC)

# GCE vTPM (src/evidence/gce_tpm.c): go-tpm-tools' Attestation protobuf,
# decoded by protobuf-c from our own schema subset, compiled here.
pkg_check_modules(PROTOBUF_C REQUIRED IMPORTED_TARGET libprotobuf-c)
find_program(AV_PROTOC_C protoc-c REQUIRED)
set(AV_GCE_PROTO_DIR ${CMAKE_SOURCE_DIR}/src/evidence)
set(AV_GCE_GEN_DIR ${CMAKE_BINARY_DIR}/gen/evidence)
add_custom_command(
  OUTPUT ${AV_GCE_GEN_DIR}/gce_attest.pb-c.c ${AV_GCE_GEN_DIR}/gce_attest.pb-c.h
  COMMAND ${CMAKE_COMMAND} -E make_directory ${AV_GCE_GEN_DIR}
  COMMAND ${AV_PROTOC_C} --proto_path=${AV_GCE_PROTO_DIR}
    --c_out=${AV_GCE_GEN_DIR} ${AV_GCE_PROTO_DIR}/gce_attest.proto
  DEPENDS ${AV_GCE_PROTO_DIR}/gce_attest.proto
  COMMENT "protoc-c gce_attest.proto" VERBATIM)
target_sources(attestverify PRIVATE ${AV_GCE_GEN_DIR}/gce_attest.pb-c.c)
target_include_directories(attestverify PRIVATE ${AV_GCE_GEN_DIR})
target_link_libraries(attestverify PUBLIC PkgConfig::PROTOBUF_C)

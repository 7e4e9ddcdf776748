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

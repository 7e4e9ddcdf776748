/*
 * attestd - Intel PCS v4 (and PCCS-compatible) client on top of
 * av_collateral_fetch(): TCB info by FMSPC, QE identity, PCK CRL by CA,
 * Intel SGX Root CA CRL.  Issuer chains come from the response headers.
 * Not a public interface (used by src/evidence/tdx.c).
 *
 * Reference: Intel SGX and TDX Provisioning Certification Service API
 * v4 ("Get TDX TCB Info", "Get TDX QE Identity", "Get PCK Cert CRL");
 * PCCS "GET /sgx/certification/v4/rootcacrl".
 */
#ifndef AV_INTEL_PCS_H
#define AV_INTEL_PCS_H

#include <stddef.h>
#include <stdint.h>

#include "av/collateral.h"
#include "av/err.h"

/* Intel's PCS, where the Root CA CRL lives on another host. */
#define AV_INTEL_PCS_DEFAULT	"https://api.trustedservices.intel.com"
#define AV_INTEL_ROOT_CRL_URL	\
	"https://certificates.trustedservices.intel.com/IntelSGXRootCA.der"

/* One document from PCS: body as served and the issuer chain (PEM). */
struct av_pcs_doc {
	uint8_t	*body;		/* owned */
	size_t	 len;
	char	*chain;		/* owned, URL-decoded PEM, or NULL */
	char	*url;		/* owned: where it came from */
};
void	av_pcs_doc_cleanup(struct av_pcs_doc *);

/*
 * Fetch from the configured PCS/PCCS (av_collateral_cfg(c)->intel_pcs_url,
 * Intel's PCS when unset) through the collateral cache.  A cached copy whose own nextUpdate is
 * not after now is refreshed when possible (else returned as is: the
 * caller reports it expired).  platform is "tdx" or "sgx".  Errors:
 * AV_E_COLLATERAL_MISSING (no base URL, offline and not cached, HTTP
 * failure).  Returns 0 and fills *out, or -1 with e.
 */
AV_MUST_USE int av_pcs_tcb_info(struct av_collateral *c, const char *platform,
    const uint8_t fmspc[6], int64_t now, struct av_pcs_doc *out,
    struct av_err *e);
AV_MUST_USE int av_pcs_qe_identity(struct av_collateral *c,
    const char *platform, int64_t now, struct av_pcs_doc *out,
    struct av_err *e);
/* ca: "processor" or "platform".  Body: the CRL (DER, PEM or hex). */
AV_MUST_USE int av_pcs_pck_crl(struct av_collateral *c, const char *ca,
    int64_t now, struct av_pcs_doc *out, struct av_err *e);
/*
 * The Intel SGX Root CA CRL: from Intel's certificate host when the base
 * URL is Intel's PCS, else from the PCCS route /sgx/certification/v4/
 * rootcacrl (DER or hex).
 */
AV_MUST_USE int av_pcs_root_ca_crl(struct av_collateral *c, int64_t now,
    struct av_pcs_doc *out, struct av_err *e);

/*
 * Decode a CRL given as DER, PEM, hex text or base64 text.  Returns a new
 * CRL or NULL.
 */
X509_CRL *av_pcs_crl_decode(const uint8_t *p, size_t n);

#endif

/* tls_selfsigned.c — self-signed certificate generation for `correu
 * init`. Runs in the init command only. */
#include "tls_selfsigned.h"
#include "xalloc.h"

#include <fcntl.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int add_ext(X509 *cert, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
	X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ex == NULL)
		return -1;
	int ok = X509_add_ext(cert, ex, -1);
	X509_EXTENSION_free(ex);
	return ok == 1 ? 0 : -1;
}

static FILE *open_mode(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return NULL;
	fchmod(fd, mode);
	FILE *f = fdopen(fd, "w");
	if (f == NULL)
		close(fd);
	return f;
}

int tls_selfsigned_create(const char *cert_path, const char *key_path,
			  const char *hostname, unsigned days, const char **error_r)
{
	int ret = -1;
	X509 *cert = NULL;
	EVP_PKEY *key = EVP_EC_gen("P-256");
	if (key == NULL) {
		*error_r = "key generation failed";
		goto out;
	}
	cert = X509_new();
	X509_set_version(cert, 2);
	unsigned char serial[16];
	RAND_bytes(serial, sizeof(serial));
	serial[0] &= 0x7f;
	BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
	BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
	BN_free(bn);
	X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(cert), (long)days * 86400);
	X509_set_pubkey(cert, key);
	X509_NAME *name = X509_get_subject_name(cert);
	X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"correu", -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)hostname, -1, -1, 0);
	X509_set_issuer_name(cert, name);
	char *san = strcmp(hostname, "localhost") == 0 ?
		x_strdup("DNS:localhost,IP:127.0.0.1,IP:::1") :
		x_asprintf("DNS:%s,DNS:localhost,IP:127.0.0.1,IP:::1", hostname);
	int ext_ok = add_ext(cert, NID_subject_alt_name, san) == 0 &&
		add_ext(cert, NID_basic_constraints, "critical,CA:TRUE") == 0 &&
		add_ext(cert, NID_key_usage, "critical,digitalSignature,keyCertSign") == 0 &&
		add_ext(cert, NID_ext_key_usage, "serverAuth") == 0 &&
		add_ext(cert, NID_subject_key_identifier, "hash") == 0;
	free(san);
	if (!ext_ok || X509_sign(cert, key, EVP_sha256()) == 0) {
		*error_r = "certificate signing failed";
		goto out;
	}
	FILE *f = open_mode(key_path, 0600);
	if (f == NULL || PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) != 1) {
		*error_r = "cannot write the key file";
		if (f != NULL)
			fclose(f);
		goto out;
	}
	fclose(f);
	f = open_mode(cert_path, 0644);
	if (f == NULL || PEM_write_X509(f, cert) != 1) {
		*error_r = "cannot write the certificate file";
		if (f != NULL)
			fclose(f);
		goto out;
	}
	fclose(f);
	ret = 0;
out:
	ERR_clear_error();
	X509_free(cert);
	EVP_PKEY_free(key);
	return ret;
}

/* The WebSocket accept key (RFC 6455 4.2.2), for the server and clients. */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "common.h"

#define WSKEY_GUID	"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* Compute the Sec-WebSocket-Accept for key into out (29 bytes). */
void
wskey_accept(const char *key, char *out)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen;
	char		*s;

	xasprintf(&s, "%s%s", key, WSKEY_GUID);
	if (EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha1(), NULL) != 1 ||
	    mdlen != 20)
		fatalx("SHA-1 failed");
	free(s);
	EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
}

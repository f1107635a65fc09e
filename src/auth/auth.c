/* Names and protocol codes of the credential errors. */

#include "config.h"

#include "auth.h"

/* Return a static string naming an AUTH_E* code. */
const char *
auth_strerror(int err)
{
	switch (err) {
	case 0:
		return ("success");
	case AUTH_EINVAL:
		return ("invalid argument");
	case AUTH_EFORMAT:
		return ("malformed token");
	case AUTH_ETOOBIG:
		return ("token too long");
	case AUTH_EJSON:
		return ("token header or claims not a JSON object");
	case AUTH_EALG:
		return ("token algorithm not HS256");
	case AUTH_EKID:
		return ("token key unknown");
	case AUTH_ESIG:
		return ("token signature does not match");
	case AUTH_ECLAIM:
		return ("token claim missing or invalid");
	case AUTH_EEXPIRED:
		return ("token expired");
	case AUTH_ENOTYET:
		return ("token not valid yet");
	case AUTH_EDENIED:
		return ("unknown key or wrong secret");
	}
	return ("unknown error");
}

/* Return the protocol error code (40100 or 40101) for an AUTH_E* code. */
int
auth_wire_code(int err)
{
	if (err == AUTH_EEXPIRED)
		return (AUTH_WIRE_EXPIRED);
	return (AUTH_WIRE_INVALID);
}

/*
 * Private to src/auth/: what the files of the credentials library share
 * and other folders must not use.
 */

#ifndef LOGWIRE_AUTH_INT_H
#define LOGWIRE_AUTH_INT_H

#include <jansson.h>

#include "auth.h"

/* cap.c */
int		 cap_from_json(json_t *, struct cap **, char **);

#endif /* LOGWIRE_AUTH_INT_H */

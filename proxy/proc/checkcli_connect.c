/* checkcli_connect.c — daneproxy check, client side (checkrun.h). */
#include "checkrun.h"

int
check_connect(struct check_env *e, const struct conf_client *cc)
{
	return check_verdict(e, 0, "not yet");
}

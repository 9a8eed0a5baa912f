#include "sr_client.h"

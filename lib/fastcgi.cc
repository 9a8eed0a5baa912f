#include "fastcgi.h"

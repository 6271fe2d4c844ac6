#!/bin/sh
set -eu

# trailing spaces below are deliberate   
exec nginx -g 'daemon off;'   

#!/bin/sh
set -e
echo starting
exec nginx -g "daemon off;"

#!/bin/sh
set -e
echo "custom init"   

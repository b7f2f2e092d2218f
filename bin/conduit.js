#!/usr/bin/env node
import '../dist/conduit.mjs';

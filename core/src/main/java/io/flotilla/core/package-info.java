package io.flotilla.core;

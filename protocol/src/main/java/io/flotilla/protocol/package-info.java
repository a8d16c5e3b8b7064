package io.flotilla.protocol;

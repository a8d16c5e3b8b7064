package io.flotilla.gateway;

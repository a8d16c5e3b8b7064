package io.flotilla.agent.sysinfo;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.protocol.device.NetworkInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SystemInfoTest {

  @TempDir Path tmp;

  @Test
  void hardwareIsReadFromProcAndDmiInLshwShape() throws IOException {
    Path proc = Files.createDirectories(tmp.resolve("proc"));
    Path sys = Files.createDirectories(tmp.resolve("sys/class/dmi/id"));
    Files.createDirectories(proc.resolve("sys/kernel"));
    Files.writeString(proc.resolve("sys/kernel/hostname"), "gate-7\n");
    Files.writeString(
        proc.resolve("cpuinfo"),
        "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n\nprocessor\t: 1\nmodel name\t: other\n");
    Files.writeString(
        proc.resolve("meminfo"), "MemTotal:       24576000 kB\nMemFree:        100 kB\n");
    Files.writeString(sys.resolve("product_name"), "Standard PC\n");
    Files.writeString(sys.resolve("sys_vendor"), "QEMU\n");

    JsonNode hardware =
        new SystemInfo(proc, tmp.resolve("sys"), tmp.resolve("sent.json")).hardware();

    assertEquals("gate-7", hardware.path("id").asText());
    assertEquals("system", hardware.path("class").asText());
    assertEquals("Standard PC", hardware.path("product").asText());
    assertEquals("QEMU", hardware.path("vendor").asText());
    assertFalse(hardware.has("serial"), "no readable serial, no field");
    JsonNode core = hardware.path("children").get(0);
    assertEquals("core", core.path("id").asText());
    assertEquals(
        "AMD EPYC 7B13",
        core.path("children").get(0).path("product").asText(),
        "the first processor's model");
    assertEquals(24576000L * 1024, core.path("children").get(1).path("size").asLong());
  }

  @Test
  void networkInfoNamesThisMachine() {
    NetworkInfo network = new SystemInfo(tmp.resolve("sent.json")).network();
    assertFalse(network.hostname().isBlank());
    if (!network.localIpv4().isEmpty()) {
      assertTrue(network.localIpv4().matches("\\d+\\.\\d+\\.\\d+\\.\\d+"), network.toString());
    }
  }
}

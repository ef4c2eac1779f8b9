{
  "targets": [
    {
      "target_name": "crc64_native",
      "sources": ["src/crc64.c", "src/addon.c"],
      "cflags_c": ["-std=gnu11", "-O3", "-Wall", "-Wextra"],
      "xcode_settings": { "OTHER_CFLAGS": ["-std=gnu11", "-O3"] }
    }
  ]
}

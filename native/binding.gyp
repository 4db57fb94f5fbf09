{
  "targets": [
    {
      "target_name": "xrelay_dataplane",
      "sources": ["src/addon.cc", "src/cell_core.cc", "src/cell_codec.cc", "src/cell_aead.cc", "src/batch_io.cc", "src/udp_io.cc", "src/turn_forward.cc", "src/turn_io.cc", "src/turn_addon.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-O2", "-fvisibility=hidden", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-missing-field-initializers"],
      "cflags_cc!": ["-std=gnu++17", "-std=gnu++20"],
      "conditions": [
        ["OS!='linux'", { "type": "none" }]
      ]
    }
  ]
}

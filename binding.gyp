{
  "targets": [
    {
      "target_name": "licensor_fingerprint",
      "sources": [
        "native/addon.cc",
        "native/common/fingerprint.cc",
        "native/common/junk.cc",
        "native/common/cpuid.cc",
        "native/common/mac_address.cc",
        "native/common/environment.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-fexceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "conditions": [
        ["OS=='linux'", {
          "sources": [
            "native/linux/rooted_fs.cc",
            "native/linux/remembered.cc",
            "native/linux/mountinfo.cc",
            "native/linux/machine_id.cc",
            "native/linux/dmi.cc",
            "native/linux/boot_disk.cc",
            "native/linux/nics.cc",
            "native/linux/cpu.cc",
            "native/linux/environment.cc",
            "native/linux/collect.cc"
          ]
        }],
        ["OS=='mac'", {
          "sources": [
            "native/mac/iokit.cc",
            "native/mac/collect.cc"
          ],
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "MACOSX_DEPLOYMENT_TARGET": "10.15",
            "OTHER_CPLUSPLUSFLAGS": ["-Wall", "-Wextra"]
          },
          "link_settings": {
            "libraries": ["-framework IOKit", "-framework CoreFoundation"]
          }
        }],
        ["OS=='win'", {
          "sources": [
            "native/win/registry.cc",
            "native/win/smbios.cc",
            "native/win/disk.cc",
            "native/win/nics.cc",
            "native/win/collect.cc"
          ],
          "defines": ["UNICODE", "_UNICODE", "NOMINMAX", "WIN32_LEAN_AND_MEAN"],
          "msvs_settings": {
            "VCCLCompilerTool": { "ExceptionHandling": 1, "AdditionalOptions": ["/std:c++17", "/W4"] }
          },
          "libraries": ["iphlpapi.lib", "advapi32.lib"]
        }]
      ]
    }
  ]
}

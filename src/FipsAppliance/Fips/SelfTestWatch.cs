using System.Runtime.InteropServices;

namespace FipsAppliance.Fips;

/// <summary>
/// Records the FIPS provider's self-test failures while our config activates it. Measured with
/// libcrypto 3.0.19: when fipsmodule.cnf's MAC does not match the module, the config load still
/// returns success, leaves OpenSSL's error queue empty, and the fips provider is simply absent;
/// OpenSSL's self-test callback is the one place that says which test failed.
/// </summary>
internal static unsafe class SelfTestWatch
{
    private static readonly List<string> s_failures = [];

    public static void Start()
    {
        lock (s_failures) s_failures.Clear();
        LibCrypto.OSSL_SELF_TEST_set_callback(0, &OnEvent, 0);
    }

    /// <summary>Stops watching; returns the failed tests as "Module_Integrity (HMAC)".</summary>
    public static List<string> Stop()
    {
        LibCrypto.OSSL_SELF_TEST_set_callback(0, null, 0);
        lock (s_failures) return [.. s_failures];
    }

    [UnmanagedCallersOnly]
    private static int OnEvent(LibCrypto.OsslParam* parameters, nint arg)
    {
        string? phase = null, type = null, desc = null;
        for (var p = parameters; p != null && p->Key != 0 && p - parameters < 16; p++)
        {
            string? key = Marshal.PtrToStringUTF8(p->Key);
            // OSSL_PROV_PARAM_SELF_TEST_* are UTF8 strings (OSSL_PARAM_UTF8_STRING: data is the text).
            string? value = p->Data == 0 ? null : Marshal.PtrToStringUTF8(p->Data);
            switch (key)
            {
                case "st-phase": phase = value; break;
                case "st-type": type = value; break;
                case "st-desc": desc = value; break;
            }
        }
        if (phase == "Fail")
            lock (s_failures) s_failures.Add(desc is null ? type ?? "unknown" : $"{type} ({desc})");
        return 1; // 1 = let the test proceed (0 would make it fail on purpose)
    }
}

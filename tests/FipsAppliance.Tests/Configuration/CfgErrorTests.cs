namespace FipsAppliance.Tests.Configuration;

// Each broken line is the last of a valid head (CfgFixture.Head, 5 lines), so its line number is
// known; the expected text is HAProxy 2.6.12's wording where HAProxy has one.
public class CfgErrorTests
{
    private const string Backend = "backend be\n    server s 10.0.0.1:80\n";

    [Test]
    [Arguments("global\n    maxconnn 10\n", 7, "parsing {0} : unknown keyword 'maxconnn' in 'global' section; did you mean 'maxconn' maybe ?")]
    [Arguments("frontend fe\n    option dontlognul\n", 7, "parsing {0} : unknown option 'dontlognul'; did you mean 'dontlognull' maybe ?")]
    [Arguments("frontend fe\n    bnd :1\n", 7, "parsing {0} : unknown keyword 'bnd' in 'frontend' section; did you mean 'bind' maybe ?")]
    [Arguments("frontend fe\n    mode udp\n", 7, "parsing {0} : unknown proxy mode 'udp'.")]
    [Arguments("frontend fe\n    timeout client 5x\n", 7, "parsing {0} : unexpected character 'x' in 'timeout client'")]
    [Arguments("frontend fe\n    timeout bogus 5s\n", 7, "parsing {0} : 'timeout' supports 'client', 'server', 'connect', 'check', 'queue', 'http-keep-alive', 'http-request', 'tunnel', 'tarpit', 'client-fin' and 'server-fin' (got 'bogus')")]
    [Arguments("frontend fe\n    bind :70000\n", 7, "parsing {0} : 'bind' : invalid port '70000'")]
    [Arguments("frontend fe\n    bind 1.2.3.4\n", 7, "parsing {0} : 'bind' : missing port specification in '1.2.3.4'")]
    [Arguments("frontend fe\n    bind ${NOPE-1.2.3.4}:1\n", 7, "parsing {0} : 'bind' : invalid address: '-1.2.3.4}' in '${NOPE-1.2.3.4}:1'")]
    [Arguments("frontend fe\n    bind :1 ssl crt x.pem\n", 7, "parsing {0} : 'bind :1' : unknown keyword 'ssl'.")]
    [Arguments("frontend fe\n    server s 1.1.1.1:1\n", 7, "parsing {0} : 'server' not allowed because frontend 'fe' has no backend capability.")]
    [Arguments("frontend fe\n    use_backend be foo\n", 7, "parsing {0} : unexpected keyword 'foo' after switching rule, only 'if' and 'unless' are allowed.")]
    [Arguments("frontend fe\n    use_backend be if nosuch\n", 7, "parsing {0} : error detected while parsing switching rule : no such ACL : 'nosuch'.")]
    [Arguments("frontend fe\n    acl x path_bog /a\n", 7, "parsing {0} : error detected while parsing ACL 'x' : unknown fetch method 'path_bog' in ACL expression 'path_bog'; did you mean 'path_beg' maybe ?")]
    [Arguments("frontend fe\n    use_backend be if { path_beg /a\n", 7, "parsing {0} : error detected while parsing switching rule : missing closing '}' in condition.")]
    [Arguments("frontend fe\n    use_backend be if { path_beg /a } ||\n", 7, "parsing {0} : error detected while parsing switching rule : missing term at end of condition.")]
    [Arguments("frontend fe\n    balance weird\n", 7, "'balance' ignored because frontend 'fe' has no backend capability.")]
    [Arguments("backend b\n    balance weird\n", 7, "parsing {0} : balance only supports 'roundrobin', 'static-rr', 'leastconn', 'source', 'uri', 'url_param', 'hdr(name)' and 'rdp-cookie(name)' options.")]
    [Arguments("backend b\n    server s 1.1.1.1:1 bogus 1\n", 7, "{0} : 'server b/s' : unknown keyword 'bogus'.")]
    [Arguments("backend b\n    server s 1.1.1.1:1 inter\n", 7, "{0} : 'server b/s' : 'inter' expects an argument.")]
    [Arguments("backend b\n    server s 1.1.1.1:1 inter 0\n", 7, "{0} : 'server b/s' : 'inter' expects a delay as argument.")]
    [Arguments("backend b\n    server s 1.1.1.1:1 verify maybe\n", 7, "{0} : 'server b/s' : 'verify' : unknown verify method 'maybe', only 'none' and 'required' are supported.")]
    [Arguments("backend b\n    server s 1.1.1.1:1 init-addr bogus\n", 7, "{0} : 'server b/s' : 'init-addr' : unknown init-addr method 'bogus', supported methods are 'libc', 'last', 'none'..")]
    [Arguments("backend b\n    server s 1.1.1.1:1 resolve-prefer ipv5\n", 7, "{0} : 'server b/s' : 'resolve-prefer' expects either ipv4 or ipv6 as argument..")]
    [Arguments("backend b\n    server s 1.1.1.1:1 ssl-min-ver TLSv9\n", 7, "{0} : 'server b/s' : 'TLSv9' : unknown ssl/tls version.")]
    [Arguments("backend b\n    server s 1.1.1.1:1 ca-file missing.crt\n", 7, "{0} : 'server b/s' : Couldn't open the ca-file 'missing.crt' (No such file or directory).")]
    [Arguments("backend b\n    server s 1.1.1.1:1 ssl\n", 7, "{0} : 'server b/s' : verify is enabled by default but no CA file specified.")]
    [Arguments("backend b\n    server-template m 0 host:443\n", 7, "{0} : Wrong server-template number or range arg '0'.")]
    [Arguments("backend b\n    server s\n", 7, "{0} : 'server' expects <name> and <addr>[:<port>] as arguments.")]
    [Arguments("backend b\n    server s 1.1.1.1:1\n    server s 1.1.1.2:1\n", 8, "parsing {0} : backend 'b', another server named 's' was already defined at line 7, please use distinct names.")]
    [Arguments("backend b\n    server s 1.1.1.1:1 resolvers nores\n", 7, "{0} : backend 'b', server 's': unable to find required resolvers 'nores'")]
    [Arguments("frontend fe\n    bind :1\n    default_backend nob\n", 8, "parsing {0} : Proxy 'fe': unable to find required default_backend: 'nob'.")]
    [Arguments("frontend fe\n    bind :1\n    use_backend nob if { path / }\n", 8, "parsing {0} : Proxy 'fe': unable to find required use_backend: 'nob'.")]
    [Arguments("frontend fe\n    bind :1\nfrontend fe\n    bind :2\n", 8, "Parsing {0}: frontend 'fe' has the same name as frontend 'fe' declared at ")]
    [Arguments("listen x\n    bind :1\nbackend x\n", 8, "Parsing {0}: backend 'x' has the same name as listen 'x' declared at ")]
    [Arguments("defaults\n    bind :1\n", 7, "parsing {0} : 'bind' not allowed in anonymous 'defaults' section.")]
    [Arguments("resolvers r\n    nameserver n1 1.1.1.1\n", 7, "parsing {0} : 'nameserver n1' : missing port specification in '1.1.1.1'")]
    [Arguments("resolvers r\n    hold bogus 1s\n", 7, "parsing {0} : 'hold' unknown <event>: 'bogus', expects either 'nx', 'timeout', 'valid', 'obsolete' or 'other'.")]
    [Arguments("global\n    ssl-default-server-options no-tlsv9\n", 7, "parsing {0} : unknown option 'no-tlsv9' on global statement 'ssl-default-server-options'.")]
    [Arguments("global\n    default-path nowhere\n", 7, "parsing {0} : 'default-path' expects either 'current', 'config', 'parent' or 'origin' and optionally a path to append.")]
    [Arguments("global\n    setenv A\n", 7, "parsing {0} : 'setenv' expects exactly 2 arguments.")]
    [Arguments("global\n    log 127.0.0.1 local9\n", 7, "parsing {0} : unknown log facility 'local9'")]
    [Arguments("frontend fe\n    stats bogus\n", 7, "parsing {0} : unknown stats parameter 'bogus', expects")]
    [Arguments("frontend fe\n    bind \"a\n", 7, "parsing {0} : unmatched quote at position 10")]
    [Arguments("peers p\n", 6, "parsing {0} : 'peers' sections are not supported by datadog-fips-proxy; the section is ignored.")]
    public async Task Rejects_with_haproxy_message_and_line(string tail, int line, string expected)
    {
        using var f = new CfgFixture();
        var loaded = f.Load(CfgFixture.Head + tail + (tail.StartsWith("backend be") ? "" : Backend));
        string text = expected.Replace("{0}", f.At(line), StringComparison.Ordinal);
        await Assert.That(f.Diagnostics).Contains(text);
        if (!expected.Contains("ignored because")) await Assert.That(loaded).IsNull();
    }

    [Test]
    public async Task Reports_every_error_of_the_file_in_one_run()
    {
        using var f = new CfgFixture();
        var loaded = f.Load(CfgFixture.Head + "frontend fe\n    bind :1\n    bogus1\n    bogus2\n    default_backend nob\n");
        await Assert.That(loaded).IsNull();
        await Assert.That(f.Diagnostics).Contains($"parsing {f.At(8)} : unknown keyword 'bogus1'");
        await Assert.That(f.Diagnostics).Contains($"parsing {f.At(9)} : unknown keyword 'bogus2'");
        await Assert.That(f.Diagnostics).Contains($"parsing {f.At(10)} : Proxy 'fe': unable to find required default_backend: 'nob'.");
        await Assert.That(f.Diagnostics).Contains($"Error(s) found in configuration file : {f.CfgPath}");
    }

    // Found by `./build.sh fuzz cfg`: a NUL byte in a file name (ca-file) threw out of the parser
    // (Path.GetFullPath) instead of being reported at its line.
    [Test]
    [Arguments("ca-file ca\0.crt")]
    [Arguments("ca-file \"ca\\x00.crt\"")]
    public async Task A_nul_character_is_an_error_at_its_line(string serverWords)
    {
        using var f = new CfgFixture();
        var loaded = f.Load(CfgFixture.Head + "backend be\n    server s 10.0.0.1:443 ssl " + serverWords + "\n");
        await Assert.That(loaded).IsNull();
        await Assert.That(f.Diagnostics).Contains($"parsing {f.At(7)} : NUL character");
    }

    [Test]
    public async Task Messages_have_haproxy_shape()
    {
        using var f = new CfgFixture();
        f.Load(CfgFixture.Head + "frontend fe\n    bind :1\n    balance first\n    bogus\n");
        var lines = f.Diagnostics.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string pid = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await Assert.That(lines[0]).StartsWith($"[WARNING]  ({pid}) : config : parsing {f.At(8)} : 'balance' ignored");
        await Assert.That(lines[1]).StartsWith($"[ALERT]    ({pid}) : config : parsing {f.At(9)} : unknown keyword 'bogus'");
    }

    [Test]
    public async Task Warnings_do_not_fail_and_quiet_hides_them()
    {
        using var f = new CfgFixture();
        const string cfg = CfgFixture.Head + "frontend fe\n    default_backend be\n" + "backend be\n    server s 10.0.0.1:443 ssl verify none\n";
        var loaded = f.Load(cfg);
        await Assert.That(loaded).IsNotNull();
        await Assert.That(loaded!.Warnings).IsEqualTo(2);
        await Assert.That(f.Diagnostics).Contains($"parsing {f.At(6)} : frontend 'fe' has no 'bind' directive. Please declare it as a backend if this was intended.");
        await Assert.That(f.Diagnostics).Contains($"{f.At(9)} : 'server be/s' : 'verify none'");
        f.Load(cfg, quiet: true);
        await Assert.That(f.Diagnostics).IsEqualTo("");
    }

    [Test]
    public async Task Path_rules_in_tcp_mode_warn()
    {
        using var f = new CfgFixture();
        var loaded = f.Load(CfgFixture.Head + "frontend fe\n    mode tcp\n    bind :1\n    use_backend be if { path_beg /a }\n" + Backend);
        await Assert.That(loaded).IsNotNull();
        await Assert.That(f.Diagnostics).Contains($"parsing {f.At(9)} : 'use_backend be' in frontend 'fe' uses the HTTP sample fetch 'path_beg' but the frontend is in 'mode tcp'; the rule will never match.");
    }
}

using FipsAppliance.Configuration;

namespace FipsAppliance.Tests.Configuration;

public class CfgBindingTests
{
    [Test]
    public async Task Binds_global_keywords()
    {
        using var f = new CfgFixture();
        var c = f.Valid("""
            global
                maxconn 2000
                log 127.0.0.1:514 format rfc5424 local3 info notice
                log stdout local0
                stats socket /run/x.sock mode 600 level admin
                ssl-default-server-ciphers ECDHE-RSA-AES128-GCM-SHA256:!aNULL
                ssl-default-server-ciphersuites TLS_AES_128_GCM_SHA256
                ssl-default-server-options no-sslv3 no-tlsv10 no-tlsv11 no-tlsv13 no-tls-tickets
                ssl-default-bind-options ssl-min-ver TLSv1.2

            """ + CfgFixture.Head);
        var g = c.Global;
        await Assert.That(g.MaxConn).IsEqualTo(2000);
        await Assert.That(g.Logs.Length).IsEqualTo(2);
        await Assert.That(g.Logs[0].Target).IsEqualTo("127.0.0.1:514");
        await Assert.That(g.Logs[0].Format).IsEqualTo("rfc5424");
        await Assert.That(g.Logs[0].Facility).IsEqualTo("local3");
        await Assert.That(g.Logs[0].Level).IsEqualTo("info");
        await Assert.That(g.Logs[0].MinLevel).IsEqualTo("notice");
        await Assert.That(g.Logs[0].Line).IsEqualTo(3);
        await Assert.That(g.Logs[1].Target).IsEqualTo("stdout");
        await Assert.That(g.StatsSockets[0].Path).IsEqualTo("/run/x.sock");
        await Assert.That(g.StatsSockets[0].Mode).IsEqualTo("600");
        await Assert.That(g.StatsSockets[0].Level).IsEqualTo("admin");
        await Assert.That(g.SslDefaultServerCiphers).IsEqualTo("ECDHE-RSA-AES128-GCM-SHA256:!aNULL");
        await Assert.That(g.SslDefaultServerCiphersuites).IsEqualTo("TLS_AES_128_GCM_SHA256");
        await Assert.That(g.SslDefaultServerOptions.MinVersion).IsEqualTo("TLSv1.2");
        await Assert.That(g.SslDefaultServerOptions.MaxVersion).IsEqualTo("TLSv1.2");
        await Assert.That(g.SslDefaultServerOptions.NoTlsTickets).IsTrue();
        await Assert.That(string.Join(' ', g.SslDefaultServerOptions.Words)).IsEqualTo("no-sslv3 no-tlsv10 no-tlsv11 no-tlsv13 no-tls-tickets");
        await Assert.That(g.SslDefaultBindOptions.MinVersion).IsEqualTo("TLSv1.2");
        await Assert.That(g.SslDefaultBindOptions.MaxVersion).IsEqualTo("TLSv1.3");
    }

    [Test]
    public async Task Binds_proxy_keywords()
    {
        using var f = new CfgFixture();
        var c = f.Valid(CfgFixture.Head + """
            frontend fe
                bind 127.0.0.1:9804,[::1]:9805
                bind :8080-8081
                bind *:7000
                maxconn 100
                log global
                option httplog
                option dontlognull
                timeout http-request 10s
                timeout http-keep-alive 1m
                timeout client 2h
                acl api path_beg -i /api/
                acl api path_end .json
                acl exact path -- -dash
                use_backend be if api !exact || { path /x /y }
                use_backend be unless exact
                default_backend be
                stats enable
                stats uri /stats
                stats refresh 10s
            backend be
                mode tcp
                balance leastconn
                retries 5
                option redispatch
                no option dontlognull
                timeout check 500ms
                timeout queue 1d
                timeout connect 250us
                server s1 10.0.0.1:443
            """);
        var fe = c.Proxies[0];
        await Assert.That(fe.Kind).IsEqualTo(ProxyKind.Frontend);
        await Assert.That(fe.Mode).IsEqualTo(ProxyMode.Http);
        await Assert.That(string.Join(",", fe.Binds.Select(b => $"{b.Address}/{b.Port}@{b.Line}")))
            .IsEqualTo("127.0.0.1/9804@7,::1/9805@7,/8080@8,/8081@8,/7000@9");
        await Assert.That(fe.MaxConn).IsEqualTo(100);
        await Assert.That(fe.LogGlobal).IsTrue();
        await Assert.That(fe.Options.HttpLog).IsTrue();
        await Assert.That(fe.Options.DontLogNull).IsTrue();
        await Assert.That(fe.Timeouts.HttpRequest).IsEqualTo(10_000);
        await Assert.That(fe.Timeouts.HttpKeepAlive).IsEqualTo(60_000);
        await Assert.That(fe.Timeouts.Client).IsEqualTo(7_200_000);
        await Assert.That(fe.Acls.Length).IsEqualTo(4);
        await Assert.That(fe.Acls[0].Criterion).IsEqualTo(AclCriterion.PathBeg);
        await Assert.That(fe.Acls[0].IgnoreCase).IsTrue();
        await Assert.That(fe.Acls[1].Criterion).IsEqualTo(AclCriterion.PathEnd);
        await Assert.That(fe.Acls[1].IgnoreCase).IsFalse();
        await Assert.That(fe.Acls[2].Patterns[0]).IsEqualTo("-dash");
        await Assert.That(fe.Acls[3].Name).IsEqualTo("{anon-20-1}");
        await Assert.That(string.Join(",", fe.Acls[3].Patterns)).IsEqualTo("/x,/y");
        await Assert.That(fe.UseBackends[0].Condition).IsEqualTo("api !exact || {anon-20-1}");
        await Assert.That(fe.UseBackends[0].Unless).IsFalse();
        await Assert.That(fe.UseBackends[1].Unless).IsTrue();
        await Assert.That(fe.UseBackends[1].Line).IsEqualTo(21);
        await Assert.That(fe.DefaultBackend).IsEqualTo("be");
        await Assert.That(fe.DefaultBackendLine).IsEqualTo(22);
        await Assert.That(fe.Stats.Enable).IsTrue();
        await Assert.That(fe.Stats.Uri).IsEqualTo("/stats");
        await Assert.That(fe.Stats.RefreshSeconds).IsEqualTo(10);

        var be = c.Proxies[1];
        await Assert.That(be.Mode).IsEqualTo(ProxyMode.Tcp);
        await Assert.That(be.Balance).IsEqualTo(BalanceAlgorithm.LeastConn);
        await Assert.That(be.Retries).IsEqualTo(5);
        await Assert.That(be.Options.Redispatch).IsTrue();
        await Assert.That(be.Options.DontLogNull).IsFalse();
        await Assert.That(be.Timeouts.Check).IsEqualTo(500);
        await Assert.That(be.Timeouts.Queue).IsEqualTo(86_400_000);
        await Assert.That(be.Timeouts.Connect).IsEqualTo(1); // sub-millisecond rounds up, never to 0
        await Assert.That(be.Timeouts.Client).IsEqualTo(5000); // from defaults
    }

    [Test]
    public async Task Binds_server_parameters()
    {
        using var f = new CfgFixture();
        var c = f.Valid("global\n    default-path config\n" + CfgFixture.Head + """
            resolvers dns
                nameserver a 10.0.0.53:53
            backend be
                server s1 intake.example:443 ssl verify required ca-file ca-certificates.crt sni str(intake.example) verifyhost intake.example check check-ssl inter 3s fall 4 rise 5 port 8443 weight 7 maxconn 9 disabled resolvers dns init-addr none,10.1.1.1 resolve-prefer ipv4 ciphers AES128-GCM-SHA256 ciphersuites TLS_AES_128_GCM_SHA256 ssl-min-ver TLSv1.2 ssl-max-ver TLSv1.3
                server s2 10.0.0.2
            """);
        var s = c.Proxies[0].Servers[0];
        await Assert.That(s.Name).IsEqualTo("s1");
        await Assert.That(s.Address).IsEqualTo("intake.example");
        await Assert.That(s.Port).IsEqualTo(443);
        await Assert.That(s.Ssl).IsTrue();
        await Assert.That(s.Verify).IsEqualTo(VerifyMode.Required);
        await Assert.That(s.CaFile).IsEqualTo(Path.Combine(f.Directory, "ca-certificates.crt"));
        await Assert.That(s.Sni).IsEqualTo("str(intake.example)");
        await Assert.That(s.VerifyHost).IsEqualTo("intake.example");
        await Assert.That(s.Check).IsTrue();
        await Assert.That(s.CheckSsl).IsTrue();
        await Assert.That(s.Inter).IsEqualTo(3000);
        await Assert.That(s.Fall).IsEqualTo(4);
        await Assert.That(s.Rise).IsEqualTo(5);
        await Assert.That(s.CheckPort).IsEqualTo(8443);
        await Assert.That(s.Weight).IsEqualTo(7);
        await Assert.That(s.MaxConn).IsEqualTo(9);
        await Assert.That(s.Disabled).IsTrue();
        await Assert.That(s.Resolvers).IsEqualTo("dns");
        await Assert.That(string.Join(",", s.InitAddr)).IsEqualTo("none,10.1.1.1");
        await Assert.That(s.ResolvePrefer).IsEqualTo("ipv4");
        await Assert.That(s.Ciphers).IsEqualTo("AES128-GCM-SHA256");
        await Assert.That(s.Ciphersuites).IsEqualTo("TLS_AES_128_GCM_SHA256");
        await Assert.That(s.SslOptions.MinVersion).IsEqualTo("TLSv1.2");
        await Assert.That(s.SslOptions.MaxVersion).IsEqualTo("TLSv1.3");

        var plain = c.Proxies[0].Servers[1];
        await Assert.That(plain.Port).IsEqualTo(0);
        await Assert.That(plain.Inter).IsEqualTo(2000);
        await Assert.That(string.Join(",", plain.InitAddr)).IsEqualTo("last,libc");
        await Assert.That(plain.ResolvePrefer).IsEqualTo("ipv6");
        await Assert.That(plain.SslOptions.MinVersion).IsNull();
    }

    [Test]
    public async Task Binds_resolvers_section()
    {
        using var f = new CfgFixture();
        var c = f.Valid(CfgFixture.Head + """
            resolvers my-dns
                nameserver dns1 10.0.0.2:53
                nameserver dns2 [fd00::1]:5353
                parse-resolv-conf
                resolve_retries 5
                timeout resolve 2s
                timeout retry 500ms
                hold valid 20s
                hold nx 1m
                hold obsolete 5s
                accepted_payload_size 8192
            """);
        var r = c.Resolvers[0];
        await Assert.That(r.Name).IsEqualTo("my-dns");
        await Assert.That(r.Line).IsEqualTo(6);
        await Assert.That(r.Nameservers.Length).IsEqualTo(2);
        await Assert.That(r.Nameservers[0].Address).IsEqualTo("10.0.0.2");
        await Assert.That(r.Nameservers[1].Address).IsEqualTo("fd00::1");
        await Assert.That(r.Nameservers[1].Port).IsEqualTo(5353);
        await Assert.That(r.ParseResolvConf).IsTrue();
        await Assert.That(r.ResolveRetries).IsEqualTo(5);
        await Assert.That(r.TimeoutResolve).IsEqualTo(2000);
        await Assert.That(r.TimeoutRetry).IsEqualTo(500);
        await Assert.That(r.Hold.Valid).IsEqualTo(20_000);
        await Assert.That(r.Hold.Nx).IsEqualTo(60_000);
        await Assert.That(r.Hold.Obsolete).IsEqualTo(5000);
        await Assert.That(r.Hold.Other).IsEqualTo(30_000);
        await Assert.That(r.AcceptedPayloadSize).IsEqualTo(8192);
    }

    [Test]
    public async Task Each_proxy_takes_the_most_recent_defaults_and_default_server()
    {
        using var f = new CfgFixture();
        var c = f.Valid("""
            defaults
                mode http
                timeout client 1s
                timeout server 1s
                timeout connect 1s
                retries 7
                default-server inter 10s check ssl verify none
            backend first
                server a 10.0.0.1:1
            defaults named
                mode tcp
                timeout client 2s
                timeout server 2s
                timeout connect 2s
            backend second
                default-server fall 9
                server b 10.0.0.2:2
                default-server rise 8
                server c 10.0.0.3:3 no-check
            backend third from named
                server d 10.0.0.4:4
            """);
        var first = c.Proxies[0];
        await Assert.That(first.Mode).IsEqualTo(ProxyMode.Http);
        await Assert.That(first.Retries).IsEqualTo(7);
        await Assert.That(first.Servers[0].Inter).IsEqualTo(10_000);
        await Assert.That(first.Servers[0].Check).IsTrue();
        await Assert.That(first.Servers[0].Verify).IsEqualTo(VerifyMode.None);

        var second = c.Proxies[1];
        await Assert.That(second.Mode).IsEqualTo(ProxyMode.Tcp);
        await Assert.That(second.Retries).IsEqualTo(3); // a new defaults section starts from HAProxy's defaults
        await Assert.That(second.Timeouts.Client).IsEqualTo(2000);
        var b = second.Servers[0];
        await Assert.That(b.Fall).IsEqualTo(9);
        await Assert.That(b.Rise).IsEqualTo(2); // the later default-server does not reach back
        await Assert.That(b.Inter).IsEqualTo(2000);
        var cs = second.Servers[1];
        await Assert.That(cs.Rise).IsEqualTo(8);
        await Assert.That(cs.Fall).IsEqualTo(9);
        await Assert.That(cs.Check).IsFalse();

        await Assert.That(c.Proxies[2].Mode).IsEqualTo(ProxyMode.Tcp);
    }

    [Test]
    public async Task Server_template_expands_into_numbered_servers()
    {
        using var f = new CfgFixture();
        var c = f.Valid(CfgFixture.Head + """
            backend be
                default-server check inter 10s
                server-template mothership 3 intake.example:443 fall 1
                server-template spare 4-5 spare.example
            """);
        var servers = c.Proxies[0].Servers;
        await Assert.That(string.Join(",", servers.Select(s => s.Name))).IsEqualTo("mothership1,mothership2,mothership3,spare4,spare5");
        await Assert.That(servers.All(s => s.Check && s.Inter == 10_000)).IsTrue();
        await Assert.That(servers[2].Template).IsEqualTo("mothership");
        await Assert.That(servers[2].Address).IsEqualTo("intake.example");
        await Assert.That(servers[2].Port).IsEqualTo(443);
        await Assert.That(servers[2].Fall).IsEqualTo(1);
        await Assert.That(servers[3].Port).IsEqualTo(0);
        await Assert.That(servers[4].Fall).IsEqualTo(3);
    }

    [Test]
    public async Task Server_ssl_options_merge_over_the_global_defaults()
    {
        using var f = new CfgFixture();
        var c = f.Valid("""
            global
                ssl-default-server-options no-sslv3 no-tlsv10 no-tlsv11 no-tlsv13

            """ + CfgFixture.Head + """
            backend be
                server a 10.0.0.1:443
                server b 10.0.0.1:443 ssl-max-ver TLSv1.3
            """);
        await Assert.That(c.Proxies[0].Servers[0].SslOptions.MaxVersion).IsEqualTo("TLSv1.2");
        await Assert.That(c.Proxies[0].Servers[0].SslOptions.MinVersion).IsEqualTo("TLSv1.2");
        await Assert.That(c.Proxies[0].Servers[1].SslOptions.MaxVersion).IsEqualTo("TLSv1.3");
    }

    [Test]
    [Arguments("current", "")]
    [Arguments("config", "CFG")]
    [Arguments("parent", "PARENT")]
    [Arguments("origin /etc/ssl/certs", "/etc/ssl/certs")]
    public async Task Default_path_makes_ca_file_absolute(string how, string expectedBase)
    {
        using var f = new CfgFixture();
        string parent = Path.GetDirectoryName(f.Directory)!;
        string name = how.StartsWith("origin") ? "ca-certificates.crt" : Path.GetFileName(f.Directory) + "/ca-certificates.crt";
        if (how == "config") name = "ca-certificates.crt";
        string cwd = Directory.GetCurrentDirectory();
        if (how == "current") name = Path.GetRelativePath(cwd, Path.Combine(f.Directory, "ca-certificates.crt"));
        var c = f.Valid($"global\n    default-path {how}\n" + CfgFixture.Head + $"backend be\n    server a 10.0.0.1:443 ssl ca-file {name}\n");
        string expected = expectedBase switch
        {
            "" => Path.Combine(f.Directory, "ca-certificates.crt"),
            "CFG" => Path.Combine(f.Directory, "ca-certificates.crt"),
            "PARENT" => Path.Combine(parent, name),
            _ => Path.Combine(expectedBase, name),
        };
        await Assert.That(c.Proxies[0].Servers[0].CaFile).IsEqualTo(expected);
    }
}

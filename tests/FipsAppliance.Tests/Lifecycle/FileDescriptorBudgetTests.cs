using FipsAppliance.Lifecycle;

namespace FipsAppliance.Tests.Lifecycle;

/// <summary>The default maxconn from the file descriptor limit, as HAProxy 2.6 derives it.</summary>
public class FileDescriptorBudgetTests
{
    [Test]
    [Arguments(1023UL, 497)]
    [Arguments(255UL, 113)]
    [Arguments(19999UL, 9985)]
    public async Task Derives_maxconn_like_haproxy_2_6(ulong limit, int expected)
    {
        // haproxy 2.6.12 reserved 29 descriptors for the cfg it was measured with.
        var budget = FileDescriptorBudget.For(configured: 0, limit, reserved: 29);
        await Assert.That(budget.MaxConn).IsEqualTo(expected);
        await Assert.That(budget.Derived).IsTrue();
    }

    [Test]
    public async Task Keeps_a_configured_maxconn_and_knows_what_it_needs()
    {
        var budget = FileDescriptorBudget.For(configured: 500, limit: 64, reserved: 34);
        await Assert.That(budget.MaxConn).IsEqualTo(500);
        await Assert.That(budget.Derived).IsFalse();
        await Assert.That(budget.Needed).IsEqualTo(1034);
    }

    [Test]
    public async Task A_limit_below_the_reserve_leaves_no_connection()
    {
        await Assert.That(FileDescriptorBudget.For(0, 30, 34).MaxConn).IsEqualTo(0);
    }
}

"""``tierroute customers import``: every problem as ``file:line:column``, all listed, nothing written; the encodings
spreadsheets write are read, others refused by name (issue 16, item 20)."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import func, select

from queues.runtime import Runtime
from router.customers import service as customers
from router.models.customers import Customer, CustomerContact, CustomerDomain
from router.settings import Settings
from router.unit_of_work import commit
from tests.conftest import make_customer, one_backend
from tests.test_cli import tierroute

HEADER = "external_ref,name,tier,domains,contacts\n"


async def customer_refs(runtime: Runtime) -> list[str]:
    async with runtime.app.sessionmaker() as s:
        return sorted((await s.exec(select(Customer.external_ref))).all())


async def test_every_problem_is_listed_with_its_line_and_nothing_is_written(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    other = await make_customer(runtime, ref="other", tier=2, domain="other.example")
    async with runtime.app.sessionmaker() as s:
        s.add(CustomerContact(email="boss@elsewhere.example", customer_id=other.id))
        await commit(s, runtime.app.effects)
    path = tmp_path / "customers.csv"
    path.write_text(
        HEADER
        + "acme,Acme,1,acme.example,not-an-email\n"  # 2
        + "beta,Beta,2,not a domain!;beta.example,ann@beta.example\n"  # 3
        + "gamma,Gamma,3,other.example,boss@elsewhere.example\n"  # 4: held by customer 'other'
        + "acme,Acme again,1,,\n"  # 5: reference repeated in the file
        + "delta,Delta,1,Beta.Example,ANN@beta.example\n"  # 6: domain and contact of line 3
        + "other,Other,7,,\n"  # 7: reference held, bad tier
        + "\n"
        + "epsilon,Epsilon,4,epsilon.example,e@epsilon.example\n",  # 9: fine
        encoding="utf-8",
    )
    result = tierroute(settings, "customers", "import", str(path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"{path}:2:26: not an email address: 'not-an-email' (an email address must have an @-sign)",
        f"{path}:3:13: not a mail domain: 'not a domain!' "
        "(the part after the @-sign contains invalid characters: '!', SPACE)",
        f"{path}:4:15: domain other.example belongs to customer 'other'",
        f"{path}:4:29: contact boss@elsewhere.example belongs to customer 'other'",
        f"{path}:5:1: external_ref 'acme' is also on line 2",
        f"{path}:6:15: domain beta.example is also on line 3",
        f"{path}:6:28: contact ann@beta.example is also on line 3",
        f"{path}:7:1: a customer with reference 'other' exists (--upsert updates it)",
        f"{path}:7:13: tier must be 1 to 4 (got '7')",
        "9 problem(s); nothing was imported",
    ]
    assert await customer_refs(runtime) == ["other"]


async def test_the_database_is_checked_once_the_file_is_clean(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    await make_customer(runtime, ref="other", tier=2, domain="other.example")
    path = tmp_path / "customers.csv"
    path.write_text(HEADER + "other,Other,1,,\nnew,New,1,OTHER.example,\n")
    result = tierroute(settings, "customers", "import", str(path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"{path}:2:1: a customer with reference 'other' exists (--upsert updates it)",
        f"{path}:3:11: domain other.example belongs to customer 'other'",
        "2 problem(s); nothing was imported",
    ]
    assert await customer_refs(runtime) == ["other"]


@one_backend
async def test_spreadsheet_encodings_are_read_and_others_refused_by_name(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    excel = tmp_path / "excel-utf8.csv"  # Excel's "CSV UTF-8": a byte-order mark before the header
    excel.write_bytes(b"\xef\xbb\xbf" + (HEADER + "sg,Soci\u00e9t\u00e9 G\u00e9n\u00e9rale,1,sg.example,\n").encode())
    unicode_text = tmp_path / "utf16.csv"
    unicode_text.write_text(HEADER + "mu,M\u00fcller GmbH,2,m\u00fcller.example,\n", encoding="utf-16")
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes((HEADER + "zz,Z\u00fcrich AG,3,,\n").encode("latin-1"))

    refused = tierroute(settings, "customers", "import", str(latin1))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert refused.stderr.startswith(f"{latin1}:2:5: not UTF-8 text (byte 0xfc)")
    assert "--encoding" in refused.stderr
    unknown = tierroute(settings, "customers", "import", "--encoding", "klingon", str(latin1))
    assert unknown.returncode == 2 and f"{latin1}: unknown encoding 'klingon'" in unknown.stderr
    no_bom = tmp_path / "utf16-no-bom.csv"
    no_bom.write_bytes((HEADER + "nb,No BOM,1,,\n").encode("utf-16-le"))
    nul = tierroute(settings, "customers", "import", str(no_bom))
    assert nul.returncode == 2 and nul.stderr.startswith(f"{no_bom}:1: NUL characters: UTF-16 without a byte-order")

    for path, encoding in [(excel, None), (unicode_text, None), (latin1, "latin-1")]:
        args = ["--encoding", encoding] if encoding else []
        done = tierroute(settings, "customers", "import", *args, str(path))
        assert done.returncode == 0, done.stderr
    async with runtime.app.sessionmaker() as s:
        names = sorted((await s.exec(select(Customer.name))).all())
        domains = sorted((await s.exec(select(CustomerDomain.domain))).all())
    assert names == ["M\u00fcller GmbH", "Soci\u00e9t\u00e9 G\u00e9n\u00e9rale", "Z\u00fcrich AG"]
    assert domains == ["m\u00fcller.example", "sg.example"]


@one_backend
async def test_a_contact_seen_in_mail_but_held_by_nobody_is_claimed(
    runtime: Runtime, settings: Settings, tmp_path: Path
) -> None:
    async with runtime.app.sessionmaker() as s:
        assert await customers.find_for_requester(s, "kim@newco.example", None) is None  # remembered, unclaimed
        await commit(s, runtime.app.effects)
    path = tmp_path / "customers.csv"
    path.write_text(HEADER + "newco,NewCo,2,,Kim@NewCo.example\n")
    done = tierroute(settings, "customers", "import", str(path))
    assert done.returncode == 0, done.stderr
    async with runtime.app.sessionmaker() as s:
        [contact] = (await s.exec(select(CustomerContact))).all()
        [customer] = (await s.exec(select(Customer))).all()
        assert (contact.email, contact.customer_id) == ("kim@newco.example", customer.id)
        assert (await s.exec(select(func.count()).select_from(CustomerContact))).one() == 1

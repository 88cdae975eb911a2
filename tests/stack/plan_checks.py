"""What AWS would be asked to do by the emitted stacks: real Terraform plans, read back.

Usage: plan_checks.py BGTOOL_BINARY

Each case writes a stack with the given bgtool binary (a static Linux x86_64 release build),
runs `terraform plan` with the real hashicorp/aws provider from this machine's local plugin mirror
against a moto server on loopback, and asserts on `terraform show -json` of the plan, or on the
error a plan must stop with. Shape checks (fmt, schema, checkov) cannot see these: the bucket
policy a Region needs, the subnets a Region's zones allow, the refusals that keep a bad binary
or a bad variable from reaching the first build, the initial task definition as ECS would get it.

Needs: terraform on PATH, the provider mirror (BGTOOL_TF_PLUGIN_DIR, or the folders check-tf
searches), and moto's server in .venv (scripts/test installs it). Anything missing is a failure.
Prints one line per check and `N passed, N failed`; exit 1 on any failure.
"""

import base64
import glob
import hashlib
import json
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile

REPOSITORY = pathlib.Path(__file__).resolve().parents[2]
ARTIFACTS = REPOSITORY / "target" / "test-artifacts"
CERTIFICATE = "arn:aws:acm:{region}:123456789012:certificate/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
# Every AWS endpoint the stack's data sources and plan-time checks reach, pointed at moto.
SERVICES = [
    "sts", "iam", "ec2", "elbv2", "ecs", "ecr", "s3", "kms", "cloudwatchlogs", "cloudwatch",
    "codebuild", "codepipeline", "codedeploy", "codestarconnections", "codeconnections", "wafv2",
]

results = {"passed": 0, "failed": 0}


def check(name, condition, detail=""):
    if condition:
        results["passed"] += 1
        print(f"ok      {name}")
    else:
        results["failed"] += 1
        print(f"FAILED  {name}{': ' + detail if detail else ''}")


def plugin_mirror():
    candidates = [os.environ.get("BGTOOL_TF_PLUGIN_DIR", "")]
    home = pathlib.Path.home()
    candidates += [
        str(home / ".terraform.d/plugins"),
        str(home / ".local/share/terraform/plugins"),
        "/usr/local/share/terraform/plugins",
        "/usr/share/terraform/plugins",
    ] + sorted(glob.glob("/opt/*"))
    for folder in candidates:
        if folder and os.path.isdir(os.path.join(folder, "registry.terraform.io/hashicorp/aws")):
            return folder
    sys.exit("plan_checks: no local Terraform plugin mirror holds hashicorp/aws (set BGTOOL_TF_PLUGIN_DIR)")


def start_moto():
    server = REPOSITORY / ".venv" / "bin" / "moto_server"
    if not server.exists():
        sys.exit("plan_checks: .venv/bin/moto_server is missing: run scripts/test first, which installs it")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(ARTIFACTS / "plan-checks-moto.log", "w")
    process = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    process.kill()
    sys.exit("plan_checks: moto server did not start")


class Stack:
    """One emitted module directory, initialised once, planned with varying variables."""

    def __init__(self, label, binary, endpoint, mirror, *flags):
        self.label = label
        self.folder = pathlib.Path(tempfile.mkdtemp(prefix=f"plan-{label}-"))
        emitted = subprocess.run(
            [binary, "emit-hcl", *flags, "--out-dir", str(self.folder)],
            capture_output=True, text=True,
        )
        if emitted.returncode != 0:
            sys.exit(f"plan_checks: emit-hcl {flags} failed: {emitted.stderr}")
        self.emit_stderr = emitted.stderr
        lines = ['provider "aws" {', '  access_key = "test"', '  secret_key = "test"',
                 "  skip_credentials_validation = true", "  skip_metadata_api_check = true",
                 "  skip_region_validation = true", "  s3_use_path_style = true", "  endpoints {"]
        lines += [f'    {service} = "{endpoint}"' for service in SERVICES]
        lines += ["  }", "}"]
        (self.folder / "zz_plan_checks_override.tf").write_text("\n".join(lines) + "\n")
        # Values that are known at plan time but live in locals, read back through outputs.
        (self.folder / "zz_plan_checks_outputs.tf").write_text(
            'output "plan_checks_log_delivery_principal" {\n  value = local.elb_log_delivery_principal\n}\n')
        self.environment = dict(os.environ, TF_IN_AUTOMATION="1", TF_INPUT="0", CHECKPOINT_DISABLE="1",
                                TF_CLI_CONFIG_FILE="/dev/null")
        init = self.terraform("init", "-backend=false", f"-plugin-dir={mirror}")
        if init.returncode != 0:
            sys.exit(f"plan_checks: terraform init failed for {label}: {init.stdout}{init.stderr}")

    def terraform(self, *arguments):
        return subprocess.run(["terraform", *arguments, "-no-color"], cwd=self.folder, env=self.environment,
                              capture_output=True, text=True)

    def plan(self, **variables):
        """The planned values, or the error text: (plan JSON or None, combined output)."""
        arguments = ["plan", "-refresh=false", "-lock=false", "-input=false", "-out=plan.bin"]
        for name, value in variables.items():
            arguments.append(f"-var={name}={value}")
        planned = self.terraform(*arguments)
        output = " ".join((planned.stdout + planned.stderr).split())
        if planned.returncode != 0:
            return None, output
        shown = self.terraform("show", "-json", "plan.bin")
        return json.loads(shown.stdout), output


def resource(plan, address):
    for change in plan["resource_changes"]:
        if change["address"] == address:
            return change["change"]["after"]
    raise KeyError(address)


def output_value(plan, name):
    return plan["planned_values"]["outputs"][name]["value"]


def addresses(plan, prefix):
    return [change["address"] for change in plan["resource_changes"] if change["address"].startswith(prefix)]


def refused(stack, what, needle, absent=None, **variables):
    plan, output = stack.plan(**variables)
    check(f"{stack.label}: {what} stops the plan", plan is None and needle in output
          and (absent is None or absent not in output),
          f"expected an error containing {needle!r}{' and no ' + repr(absent) if absent else ''}; got: {output[-600:]}")


def main():
    binary = os.path.abspath(sys.argv[1])
    if shutil.which("terraform") is None:
        sys.exit("plan_checks: terraform is not on PATH")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    mirror = plugin_mirror()
    moto, endpoint = start_moto()
    work = pathlib.Path(tempfile.mkdtemp(prefix="plan-checks-"))
    try:
        run_cases(binary, endpoint, mirror, work)
    finally:
        moto.kill()
        shutil.rmtree(work, ignore_errors=True)
    print(f"{results['passed']} passed, {results['failed']} failed")
    sys.exit(1 if results["failed"] else 0)


def run_cases(binary, endpoint, mirror, work):
    release_sha256 = hashlib.sha256(pathlib.Path(binary).read_bytes()).hexdigest()

    # us-east-1, every default: the stack a new user applies first.
    default = Stack("us-east-1", binary, endpoint, mirror)
    check("us-east-1: emit-hcl --out-dir copies the release binary beside the module",
          (default.folder / "bgtool").read_bytes() == pathlib.Path(binary).read_bytes() and default.emit_stderr == "",
          default.emit_stderr)
    plan, output = default.plan()
    check("us-east-1: the default stack plans", plan is not None, output[-800:])
    if plan is None:
        return
    principal = output_value(plan, "plan_checks_log_delivery_principal")
    check("us-east-1: access logs are delivered as the Region's ELB account and the service",
          principal == {"AWS": "arn:aws:iam::127311923021:root",
                        "Service": "logdelivery.elasticloadbalancing.amazonaws.com"}, json.dumps(principal))
    check_deploy_policy(plan)
    check_binary_never_expires(plan, pathlib.Path(binary).stat().st_size)
    bgtool_object = resource(plan, "aws_s3_object.bgtool[0]")
    build = resource(plan, "aws_codebuild_project.build")
    variables = {item["name"]: item.get("value") for item in build["environment"][0]["environment_variable"]}
    check("us-east-1: the build gets the uploaded binary's S3 URI and its SHA-256",
          variables["BGTOOL_SHA256"] == release_sha256
          and variables["BGTOOL_S3_URI"].endswith(f"/bgtool/{release_sha256}/bgtool")
          and bgtool_object["key"] == f"bgtool/{release_sha256}/bgtool"
          and variables["BGTOOL_URL"] == "", json.dumps(variables))
    check("us-east-1: 3 public subnets, one per zone",
          len(addresses(plan, "aws_subnet.public[")) == 3, str(addresses(plan, "aws_subnet.")))
    check("us-east-1: buckets and the image repository are protected from destroy by default",
          resource(plan, "aws_s3_bucket.artifacts")["force_destroy"] is False
          and resource(plan, "aws_s3_bucket.logs")["force_destroy"] is False
          and resource(plan, "aws_ecr_repository.app")["force_delete"] is False
          and resource(plan, "aws_lb.main")["enable_deletion_protection"] is True)
    check("us-east-1: without private subnets the test listener admits only test_traffic_cidr_blocks (none)",
          addresses(plan, "aws_vpc_security_group_ingress_rule.alb_test") == [],
          str(addresses(plan, "aws_vpc_security_group_ingress_rule.alb_test")))
    initial = keep_initial_taskdef(plan)
    checked = subprocess.run([binary, "check", "--strict", "--taskdef", str(initial)], capture_output=True, text=True)
    check("us-east-1: the initial task definition passes `bgtool check --strict` (read-only root, logs, sizes, tags)",
          checked.returncode == 0 and "ok" in checked.stdout, checked.stdout + checked.stderr)

    unprotected, output = default.plan(deletion_protection="false")
    check("us-east-1: deletion_protection = false lets destroy empty the buckets and the repository",
          unprotected is not None
          and resource(unprotected, "aws_s3_bucket.artifacts")["force_destroy"] is True
          and resource(unprotected, "aws_s3_bucket.logs")["force_destroy"] is True
          and resource(unprotected, "aws_ecr_repository.app")["force_delete"] is True
          and resource(unprotected, "aws_lb.main")["enable_deletion_protection"] is False, output[-400:])

    hosted, output = default.plan(bgtool_url="https://releases.example.com/bgtool-0.1.0-x86_64-linux",
                                  bgtool_sha256="a" * 64, bgtool_binary="/nonexistent/bgtool")
    hosted_variables = {} if hosted is None else {
        item["name"]: item.get("value")
        for item in resource(hosted, "aws_codebuild_project.build")["environment"][0]["environment_variable"]}
    check("us-east-1: with bgtool_url the build downloads it and nothing is uploaded",
          hosted is not None and addresses(hosted, "aws_s3_object.bgtool") == []
          and hosted_variables.get("BGTOOL_URL", "").startswith("https://")
          and hosted_variables.get("BGTOOL_S3_URI") == "" and hosted_variables.get("BGTOOL_SHA256") == "a" * 64,
          output[-400:])

    migrating, output = default.plan(migrate_command="bin/rails db:migrate")

    def build_variables(planned):
        return {} if planned is None else {
            item["name"]: item.get("value")
            for item in resource(planned, "aws_codebuild_project.build")["environment"][0]["environment_variable"]}
    check("us-east-1: migrate_command reaches the build as MIGRATE_COMMAND, empty by default",
          build_variables(migrating).get("MIGRATE_COMMAND") == "bin/rails db:migrate"
          and build_variables(plan).get("MIGRATE_COMMAND") == "", output[-400:])
    refused(default, "a migrate_command with quotes", "split on spaces with no shell", migrate_command="sh -c 'x'")

    # Every way the build's binary can be wrong stops the plan, never the first build.
    text_file = work / "not-a-binary"
    text_file.write_text("#!/bin/sh\necho I am not bgtool\n")
    arm_binary = work / "bgtool-aarch64"
    header = bytearray(64)
    header[0:6] = b"\x7fELF\x02\x01"
    header[18:21] = b"\xb7\x00\x01"
    arm_binary.write_bytes(bytes(header))
    refused(default, "a missing binary", "there is no file at /nonexistent/bgtool", absent="is not a Linux x86-64",
            bgtool_binary="/nonexistent/bgtool")
    refused(default, "a text file as the binary", "is not a Linux x86-64 executable", bgtool_binary=str(text_file))
    refused(default, "an aarch64 binary", "is not a Linux x86-64 executable", bgtool_binary=str(arm_binary))
    refused(default, "bgtool_url without its checksum", "bgtool_sha256 must be the SHA-256",
            bgtool_url="https://releases.example.com/bgtool")
    refused(default, "a malformed checksum", "64 lowercase hexadecimal digits",
            bgtool_url="https://releases.example.com/bgtool", bgtool_sha256="abc")
    refused(default, "a China Region", "commercial aws partition", region="cn-north-1")
    refused(default, "a name starting with sg-", "not starting with sg-", name="sg-app")
    refused(default, "a test listener open to the internet", "other than 0.0.0.0/0",
            test_traffic_cidr_blocks='["0.0.0.0/0"]')
    refused(default, "a writable path with ..", "without . or .. parts", writable_paths='["/tmp/../etc"]')

    check_later_changes(binary, endpoint, mirror)

    # A Region opened after August 2022: not in the provider's ELB account table.
    israel = Stack("il-central-1", binary, endpoint, mirror, "--region", "il-central-1")
    plan, output = israel.plan()
    check("il-central-1: the stack plans (aws_elb_service_account refuses this Region)", plan is not None,
          output[-600:])
    if plan is not None:
        principal = output_value(plan, "plan_checks_log_delivery_principal")
        check("il-central-1: access logs are delivered as the log delivery service alone",
              principal == {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}, json.dumps(principal))
        kms = json.loads(resource(plan, "aws_kms_key.main")["policy"])
        check("il-central-1: the KMS key admits the Region's CloudWatch Logs principal",
              kms["Statement"][1]["Principal"] == {"Service": "logs.il-central-1.amazonaws.com"},
              json.dumps(kms["Statement"][1]["Principal"]))

    # A Region where the account sees 2 zones while az_count defaults to 3.
    california = Stack("us-west-1", binary, endpoint, mirror, "--region", "us-west-1")
    plan, output = california.plan()
    check("us-west-1: the default stack plans with the 2 zones the Region offers", plan is not None
          and len(addresses(plan, "aws_subnet.public[")) == 2, output[-600:])
    check("us-west-1: a warning says az_count was lowered",
          "offers this account 2 Availability Zones: the stack uses 2" in output, output[-600:])

    # Private subnets and HTTPS: the test listener admits the NAT gateways, one per zone.
    private = Stack("eu-central-2-private-https", binary, endpoint, mirror, "--region", "eu-central-2",
                    "--private-subnets", "--certificate-arn", CERTIFICATE.format(region="eu-central-2"),
                    "--container-port", "8080")
    plan, output = private.plan()
    check("eu-central-2 private HTTPS: the stack plans", plan is not None, output[-600:])
    if plan is not None:
        check("eu-central-2 private HTTPS: the test listener admits each NAT gateway's address",
              len(addresses(plan, "aws_vpc_security_group_ingress_rule.alb_test[")) == 3
              and len(addresses(plan, "aws_eip.nat[")) == 3,
              str(addresses(plan, "aws_vpc_security_group_ingress_rule.alb_test")))
        production = resource(plan, "aws_lb_listener.production")
        check("eu-central-2 private HTTPS: production listens on 443 with the certificate",
              production["port"] == 443 and production["protocol"] == "HTTPS")

    check_smoke_test(binary, endpoint, mirror)
    check_public_smoke_test(binary, endpoint, mirror)


def check_smoke_test(binary, endpoint, mirror):
    """--smoke-test: the function runs the build's binary as its own runtime, in the private
    subnets, reaching the test listener through the NAT gateways the listener admits; the AppSpec
    runs it before production traffic."""
    stack = Stack("smoke-test", binary, endpoint, mirror, "--private-subnets", "--smoke-test", "/health",
                  "--smoke-test", "GET /ready status=200 requests=3")
    plan, output = stack.plan()
    check("smoke test: the stack plans", plan is not None, output[-600:])
    if plan is None:
        return
    archive_path = stack.folder / "smoke-test.zip"
    with zipfile.ZipFile(archive_path) as archive:
        entries = archive.infolist()
        code_is_binary = (len(entries) == 1 and entries[0].filename == "bootstrap"
                          and entries[0].external_attr >> 16 == 0o100755 and archive.testzip() is None
                          and archive.read("bootstrap") == pathlib.Path(binary).read_bytes())
    check("smoke test: smoke-test.zip holds the build's binary as an executable `bootstrap`", code_is_binary,
          str([(entry.filename, oct(entry.external_attr >> 16)) for entry in entries]))
    function = resource(plan, "aws_lambda_function.smoke_test")
    archive_hash = base64.b64encode(hashlib.sha256(archive_path.read_bytes()).digest()).decode()
    # The environment is unknown until the load balancer's name is; the checks are the variable.
    checks = plan["variables"]["smoke_tests"]["value"]
    check("smoke test: a provided.al2023 function, handler bootstrap, x86_64, its code that zip, the checks given",
          function["runtime"] == "provided.al2023" and function["handler"] == "bootstrap"
          and function["architectures"] == ["x86_64"] and function["source_code_hash"] == archive_hash
          and checks == ["/health", "GET /ready status=200 requests=3"],
          json.dumps({key: function.get(key) for key in ("runtime", "handler", "architectures", "source_code_hash")})
          + json.dumps(checks))
    subnets = [reference for item in plan["configuration"]["root_module"]["resources"]
               if item["address"] == "aws_lambda_function.smoke_test"
               for reference in item["expressions"]["vpc_config"][0]["subnet_ids"]["references"]]
    check("smoke test: the function runs in the private subnets", "aws_subnet.private" in subnets, str(subnets))
    egress = resource(plan, "aws_vpc_security_group_egress_rule.smoke_test_listener")
    listener = resource(plan, "aws_lb_listener.test")
    check("smoke test: the function may reach the test listener's port, which admits the NAT gateways",
          egress["from_port"] == egress["to_port"] == listener["port"]
          and len(addresses(plan, "aws_vpc_security_group_ingress_rule.alb_test[")) == 3,
          f"egress {egress['from_port']}, listener {listener['port']}")
    appspec = (stack.folder / "appspec_template.yaml").read_text()
    check("smoke test: the AppSpec template runs the function as its AfterAllowTestTraffic hook",
          appspec.endswith(f'Hooks:\n  - AfterAllowTestTraffic: "{function["function_name"]}"\n'), appspec[-200:])


def check_public_smoke_test(binary, endpoint, mirror):
    """--smoke-test without --private-subnets: the function runs in the public subnets, where it
    has no public address and no NAT; it reaches the load balancer inside the VPC, at a private
    address it looks up through an EC2 interface endpoint, and reports through a CodeDeploy one.
    The test listener admits the function's security group, never the internet."""
    stack = Stack("smoke-test-public", binary, endpoint, mirror, "--smoke-test", "/health")
    plan, output = stack.plan()
    check("public smoke test: the stack plans", plan is not None, output[-600:])
    if plan is None:
        return

    def configured(address):
        return next(item for item in plan["configuration"]["root_module"]["resources"]
                    if item["address"] == address)["expressions"]
    function = configured("aws_lambda_function.smoke_test")
    subnets = function["vpc_config"][0]["subnet_ids"]["references"]
    variables = function["environment"][0]["variables"]["references"]
    check("public smoke test: the function runs in the public subnets, told the load balancer and the endpoints",
          "aws_subnet.public" in subnets and "aws_subnet.private" not in subnets
          and "aws_lb.main.arn_suffix" in variables
          and any(reference.startswith('aws_vpc_endpoint.smoke_test["ec2"]') for reference in variables)
          and any(reference.startswith('aws_vpc_endpoint.smoke_test["codedeploy"]') for reference in variables),
          json.dumps({"subnets": subnets, "variables": variables}))
    endpoints = {address: resource(plan, address) for address in addresses(plan, "aws_vpc_endpoint.smoke_test[")}
    check("public smoke test: EC2 and CodeDeploy interface endpoints, private DNS off, in one subnet",
          sorted(item["service_name"] for item in endpoints.values())
          == ["com.amazonaws.us-east-1.codedeploy", "com.amazonaws.us-east-1.ec2"]
          and all(item["vpc_endpoint_type"] == "Interface" and item["private_dns_enabled"] is False
                  for item in endpoints.values()), json.dumps(endpoints)[:600])
    listener = resource(plan, "aws_lb_listener.test")
    admitted = resource(plan, "aws_vpc_security_group_ingress_rule.alb_test_from_smoke_test")
    references = configured("aws_vpc_security_group_ingress_rule.alb_test_from_smoke_test")
    check("public smoke test: the test listener admits the function's security group on its port, and no address",
          admitted["from_port"] == admitted["to_port"] == listener["port"]
          and "aws_security_group.smoke_test" in references["referenced_security_group_id"]["references"]
          and addresses(plan, "aws_vpc_security_group_ingress_rule.alb_test[") == []
          and addresses(plan, "aws_nat_gateway.") == [],
          json.dumps(admitted))


def configured_bucket(plan, address):
    """The aws_s3_bucket a resource's `bucket` argument refers to, from the plan's configuration."""
    for item in plan["configuration"]["root_module"]["resources"]:
        if item["address"] == address:
            references = item["expressions"].get("bucket", {}).get("references", [])
            return next((reference for reference in references if reference.count(".") == 1), None)
    raise KeyError(address)


def expiring_rules(rules, key, size):
    """The enabled rules of a lifecycle configuration that expire the current version of an
    untagged object `key` of `size` bytes, as S3 matches a rule's filter."""
    found = []
    for rule in rules:
        if rule.get("status") != "Enabled":
            continue
        expiration = [item for item in rule.get("expiration") or [] if item.get("days") or item.get("date")]
        if not expiration:
            continue
        filters = rule.get("filter") or [{}]
        matched = False
        for one in filters:
            conditions = [one] + list(one.get("and") or [])
            prefix = "".join(condition.get("prefix") or "" for condition in conditions)
            tagged = any(condition.get("tag") or condition.get("tags") for condition in conditions)
            above = max([condition.get("object_size_greater_than") or 0 for condition in conditions])
            below = min([condition.get("object_size_less_than") or 0 for condition in conditions] or [0])
            if (key.startswith(prefix or rule.get("prefix") or "") and not tagged and size > above
                    and (below == 0 or size < below)):
                matched = True
        if matched:
            found.append(rule.get("id"))
    return found


def check_binary_never_expires(plan, size):
    """The build's bgtool is uploaded once by `terraform apply`: no lifecycle rule of its bucket
    may expire it (day 90 would fail every build), while pipeline artifacts still expire."""
    key = resource(plan, "aws_s3_object.bgtool[0]")["key"]
    bucket = configured_bucket(plan, "aws_s3_object.bgtool")
    expiring = []
    for change in plan["resource_changes"]:
        if change["type"] != "aws_s3_bucket_lifecycle_configuration":
            continue
        if configured_bucket(plan, change["address"]) == bucket:
            expiring += [f"{change['address']} rule {rule}"
                         for rule in expiring_rules(change["change"]["after"]["rule"], key, size)]
    check("us-east-1: no lifecycle rule of its bucket expires the build's bgtool", bucket is not None
          and expiring == [], f"{bucket}: {key} expired by {expiring}")
    artifacts = resource(plan, "aws_s3_bucket_lifecycle_configuration.artifacts")
    check("us-east-1: pipeline artifacts still expire after 90 days",
          configured_bucket(plan, "aws_s3_bucket_lifecycle_configuration.artifacts") == "aws_s3_bucket.artifacts"
          and expiring_rules(artifacts["rule"], "bgtool-demo-pipeline/source/AbCdEf1.zip", 1000)
          == ["expire-artifacts"], json.dumps(artifacts["rule"]))


# What moto does not keep: its answers drop these attributes, so every plan after an apply shows
# them as changes (moto 5.2.5; its GetDeploymentGroup answers `alarmConfiguration: {}`). A plan
# changes one of them only where it differs from the plan of the unchanged stack.
MOTO_GAPS = {
    "aws_ecs_service.app": {"availability_zone_rebalancing", "enable_ecs_managed_tags",
                            "health_check_grace_period_seconds"},
    "aws_codedeploy_deployment_group.main": {"alarm_configuration"},
}
# The part of the stack moto can hold (CodeBuild and CodePipeline it cannot: CreateProject wants a
# source location even for CODEPIPELINE projects): the service, and everything it depends on.
APPLIED = ["-target=aws_ecs_service.app", "-target=aws_codedeploy_deployment_group.main"]


def gap_values(plan):
    """The planned values of moto's gap attributes: what the unchanged stack plans for them."""
    return {(change["address"], key): (change["change"]["after"] or {}).get(key)
            for change in plan["resource_changes"] for key in MOTO_GAPS.get(change["address"], ())}


def changed(plan, baseline):
    """Each resource a plan changes, with its actions; moto's gap attributes only where they differ
    from `baseline` (gap_values of the unchanged stack's plan)."""
    found = {}
    for change in plan["resource_changes"]:
        actions = change["change"]["actions"]
        address = change["address"]
        if actions == ["no-op"]:
            continue
        if address in MOTO_GAPS and actions == ["update"]:
            before, after = change["change"]["before"] or {}, change["change"]["after"] or {}
            unknown = change["change"].get("after_unknown") or {}
            differing = {key for key in (set(before) | set(after)) - MOTO_GAPS[address]
                         if before.get(key) != after.get(key) or unknown.get(key)}
            differing |= {key for key in MOTO_GAPS[address] if after.get(key) != baseline.get((address, key))}
            if not differing:
                continue
        found[address] = "replace" if "delete" in actions and "create" in actions else "+".join(actions)
    return found


def check_later_changes(binary, endpoint, mirror):
    """Day N: the stack applied (against moto), then each variable changed and planned again.
    Each plan must change only what the variable's description promises."""
    stack = Stack("later-changes", binary, endpoint, mirror)
    applied = stack.terraform("apply", "-auto-approve", "-input=false", "-lock=false", *APPLIED)
    check("day N: the service and its deployment group apply on moto", applied.returncode == 0,
          " ".join((applied.stdout + applied.stderr).split())[-800:])
    if applied.returncode != 0:
        return
    descriptions = {}
    for block in (stack.folder / "variables.tf").read_text().split('variable "')[1:]:
        name = block.split('"', 1)[0]
        descriptions[name] = block.split('description = "', 1)[1].split('"\n', 1)[0]

    def replanned(**variables):
        arguments = ["plan", "-input=false", "-lock=false", "-out=later.bin", *APPLIED]
        arguments += [f"-var={name}={value}" for name, value in variables.items()]
        planned = stack.terraform(*arguments)
        if planned.returncode != 0:
            return None, " ".join((planned.stdout + planned.stderr).split())[-600:]
        return json.loads(stack.terraform("show", "-json", "later.bin").stdout), ""

    unchanged, error = replanned()
    if unchanged is None:
        check("day N: the applied stack plans again", False, error)
        return
    baseline = gap_values(unchanged)
    check_alarms_applied(stack)

    cases = [
        # (variables, resources changed and how, words its description must hold)
        ({}, {}, None),
        ({"desired_count": 5}, {}, ("desired_count", "Later changes are ignored")),
        ({"cpu": 512, "memory": 1024}, {"aws_ecs_task_definition.app": "replace"},
         ("cpu", "registers a new task definition revision")),
        ({"health_check_path": "/health"},
         {"aws_lb_target_group.blue": "update", "aws_lb_target_group.green": "update"},
         ("health_check_path", "applies in place")),
        ({"termination_wait_minutes": 15}, {"aws_codedeploy_deployment_group.main": "update"}, None),
        # New target groups: the alarms follow them to their new names.
        ({"container_port": 8080}, {"aws_ecs_task_definition.app": "replace", "aws_lb_target_group.blue": "replace",
                                    "aws_lb_target_group.green": "replace",
                                    **{f'aws_cloudwatch_metric_alarm.{kind}["{colour}"]': "update"
                                       for kind in ("target_error_rate", "target_latency", "unhealthy_targets")
                                       for colour in ("blue", "green")}},
         ("container_port", "Create-time only")),
        ({"az_count": 2}, {"aws_subnet.public[2]": "delete", "aws_lb.main": "update"},
         ("az_count", "lowering it fails while tasks still run")),
        ({"ready_wait_minutes": 30}, {"aws_codedeploy_deployment_group.main": "update"},
         ("ready_wait_minutes", "Applies in place to the deployment group")),
        ({"deployment_alarms_enabled": "false"}, {"aws_codedeploy_deployment_group.main": "update"},
         ("deployment_alarms_enabled", "applies in place to the deployment group")),
        ({"alarm_error_rate_percent": 2}, {'aws_cloudwatch_metric_alarm.target_error_rate["blue"]': "update",
                                           'aws_cloudwatch_metric_alarm.target_error_rate["green"]': "update"},
         ("alarm_error_rate_percent", "Applies in place to the alarms")),
    ]
    for variables, expected, promise in cases:
        plan, error = replanned(**variables)
        found = None if plan is None else changed(plan, baseline)
        label = ", ".join(f"{name}={value}" for name, value in variables.items()) or "nothing"
        check(f"day N: after changing {label}, the plan changes {sorted(expected) or 'nothing'}",
              found == expected, error or json.dumps(found))
        if promise:
            name, words = promise
            check(f"day N: the description of {name} says: {words}", words in descriptions.get(name, ""),
                  descriptions.get(name, "no description"))
    # ready_wait_minutes: the group holds each deployment for `bgtool deploy --gate`.
    plan, error = replanned(ready_wait_minutes=30)
    ready = {} if plan is None else resource(plan, "aws_codedeploy_deployment_group.main")[
        "blue_green_deployment_config"][0]["deployment_ready_option"][0]
    check("day N: ready_wait_minutes = 30 makes the group hold each deployment 30 minutes for a go-ahead",
          ready.get("action_on_timeout") == "STOP_DEPLOYMENT" and ready.get("wait_time_in_minutes") == 30,
          error or json.dumps(ready))
    # The revision a new setting replaces stays registered: the service or a rollback may need it.
    plan, _ = replanned(cpu=512, memory=1024)
    check("day N: a replaced task definition revision is kept registered (skip_destroy)",
          resource(plan, "aws_ecs_task_definition.app").get("skip_destroy") is True)
    # Last: it deregisters revisions of the applied stack.
    check_prune_keeps_terraforms_revision(stack, binary, endpoint, lambda: replanned(), baseline)


def moto_ecs(endpoint, action, body):
    """One ECS call to moto, as the pipeline's build would make it (moto checks no signature)."""
    request = urllib.request.Request(endpoint, data=json.dumps(body).encode(), headers={
        "X-Amz-Target": f"AmazonEC2ContainerServiceV20141113.{action}",
        "Content-Type": "application/x-amz-json-1.1",
        "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ecs/aws4_request, "
                         "SignedHeaders=host, Signature=0"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def check_prune_keeps_terraforms_revision(stack, binary, endpoint, replan, baseline):
    """Day N: the pipeline has registered newer revisions and moved the service on. `bgtool prune`
    with the stack's prune_arguments keeps the revision Terraform's state holds, so the next plan
    changes nothing; without `--keep-revision` the provider, finding it INACTIVE, would register
    it again (which this check also shows, so it can fail)."""
    refreshed = stack.terraform("apply", "-refresh-only", "-auto-approve", "-input=false", "-lock=false")
    arguments = stack.terraform("output", "-raw", "prune_arguments").stdout
    check("day N: prune_arguments names the family, the cluster and Terraform's revision",
          refreshed.returncode == 0 and arguments == "--family bgtool-demo --cluster bgtool-demo --keep-revision 1",
          arguments or refreshed.stderr[-400:])
    if refreshed.returncode != 0 or not arguments:
        return
    first = moto_ecs(endpoint, "DescribeTaskDefinition", {"taskDefinition": "bgtool-demo"})["taskDefinition"]
    registerable = {key: first[key] for key in ("family", "containerDefinitions", "requiresCompatibilities",
                                                 "networkMode", "cpu", "memory", "executionRoleArn",
                                                 "taskRoleArn", "runtimePlatform") if key in first}
    newest = ""
    for _ in range(3):
        newest = moto_ecs(endpoint, "RegisterTaskDefinition", registerable)["taskDefinition"]["taskDefinitionArn"]
    moto_ecs(endpoint, "UpdateService", {"cluster": "bgtool-demo", "service": "bgtool-demo", "taskDefinition": newest})
    environment = {"PATH": os.environ["PATH"], "AWS_ENDPOINT_URL": endpoint, "AWS_REGION": "us-east-1",
                   "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_EC2_METADATA_DISABLED": "true"}

    def prune(*flags):
        return subprocess.run([binary, "prune", *flags, "--keep", "1"], env=environment, capture_output=True, text=True)

    pruned = prune(*arguments.split())
    check("day N: prune with prune_arguments keeps Terraform's revision and deregisters the others",
          pruned.returncode == 0 and "keep              bgtool-demo:1  named by --keep-revision" in pruned.stdout
          and "deregistered      bgtool-demo:2\nderegistered      bgtool-demo:3\n" in pruned.stdout,
          pruned.stdout + pruned.stderr)
    plan, error = replan()
    found = None if plan is None else changed(plan, baseline)
    check("day N: after prune with prune_arguments, the plan changes nothing", found == {}, error or json.dumps(found))
    unkept = prune("--family", "bgtool-demo", "--cluster", "bgtool-demo")
    plan, error = replan()
    found = None if plan is None else changed(plan, baseline)
    check("day N: had prune deregistered Terraform's revision, the plan would register it again",
          unkept.returncode == 0 and found == {"aws_ecs_task_definition.app": "create"},
          error or json.dumps(found) + unkept.stderr)


def check_alarms_applied(stack):
    """After apply, as AWS holds them: six alarms, each on its own target group of this load
    balancer, all six named in the deployment group, which rolls back when one fires."""
    state = json.loads(stack.terraform("show", "-json").stdout)
    applied = {item["address"]: item["values"] for item in state["values"]["root_module"]["resources"]}
    balancer = applied["aws_lb.main"]["arn_suffix"]
    names, wired = set(), []
    for kind, suffix in (("target_error_rate", "5xx-rate"), ("target_latency", "p99-latency"),
                         ("unhealthy_targets", "unhealthy")):
        for colour in ("blue", "green"):
            alarm = applied.get(f'aws_cloudwatch_metric_alarm.{kind}["{colour}"]')
            if alarm is None:
                wired.append(f"{kind}[{colour}] missing")
                continue
            names.add(alarm["alarm_name"])
            group = applied[f"aws_lb_target_group.{colour}"]["arn_suffix"]
            dimensions = [alarm["dimensions"]] if alarm.get("dimensions") else [
                metric["dimensions"] for query in alarm["metric_query"] for metric in query["metric"]]
            if alarm["alarm_name"] != f"bgtool-demo-{colour}-{suffix}" or not dimensions or any(
                    found != {"LoadBalancer": balancer, "TargetGroup": group} for found in dimensions):
                wired.append(f"{alarm['alarm_name']}: {dimensions} (expected {group} on {balancer})")
            if alarm["treat_missing_data"] != "notBreaching":
                wired.append(f"{alarm['alarm_name']}: treat_missing_data {alarm['treat_missing_data']}")
    check("day N: six alarms, each on its own target group of the stack's load balancer, missing data not breaching",
          not wired and len(names) == 6, "; ".join(wired))
    # moto keeps no alarm configuration of a deployment group: the plan says what CodeDeploy gets.
    plan = json.loads(stack.terraform("show", "-json", "later.bin").stdout)
    group = resource(plan, "aws_codedeploy_deployment_group.main")
    configuration = group["alarm_configuration"][0] if group["alarm_configuration"] else {}
    events = group["auto_rollback_configuration"][0]["events"]
    check("day N: the deployment group watches all six alarms and rolls back when one fires",
          set(configuration.get("alarms", [])) == names and configuration.get("enabled") is True
          and configuration.get("ignore_poll_alarm_failure") is False
          and "DEPLOYMENT_STOP_ON_ALARM" in events, json.dumps({"alarms": configuration, "events": events}))


def policy_actions(policy):
    actions = set()
    for statement in policy["Statement"]:
        listed = statement["Action"]
        actions.update([listed] if isinstance(listed, str) else listed)
    return actions


def check_deploy_policy(plan):
    """The deploy_policy_json output is known at plan time and allows what
    examples/deploy-policy.json allows, on this stack's service, family, cluster and group."""
    outputs = plan["planned_values"]["outputs"]
    known = "deploy_policy_json" in outputs and "value" in outputs["deploy_policy_json"]
    check("us-east-1: the deploy_policy_json output is known at plan time", known, json.dumps(outputs.get(
        "deploy_policy_json")))
    if not known:
        return
    policy = json.loads(outputs["deploy_policy_json"]["value"])
    example = json.loads((REPOSITORY / "examples" / "deploy-policy.json").read_text())
    check("us-east-1: deploy_policy_json allows exactly the actions of examples/deploy-policy.json",
          policy_actions(policy) == policy_actions(example),
          f"{sorted(policy_actions(policy) ^ policy_actions(example))}")
    resources = {statement["Sid"]: statement["Resource"] for statement in policy["Statement"]}
    account = "123456789012"
    check("us-east-1: deploy_policy_json names this stack's service, task roles and deployment group",
          resources["ReadAndDeployTheService"] == f"arn:aws:ecs:us-east-1:{account}:service/bgtool-demo/bgtool-demo"
          and resources["PassTheTaskRoles"] == [f"arn:aws:iam::{account}:role/bgtool-demo-execution",
                                                f"arn:aws:iam::{account}:role/bgtool-demo-task"]
          and resources["CodeDeployDeployThroughTheGroup"]
          == f"arn:aws:codedeploy:us-east-1:{account}:deploymentgroup:bgtool-demo/bgtool-demo",
          json.dumps(resources))


def keep_initial_taskdef(plan):
    """The first task definition as RegisterTaskDefinition would get it, for `bgtool check --strict`
    and the check-taskdef oracle in .ci/run."""
    after = resource(plan, "aws_ecs_task_definition.app")
    taskdef = {
        "family": after["family"],
        "containerDefinitions": json.loads(after["container_definitions"]),
        "requiresCompatibilities": after["requires_compatibilities"],
        "networkMode": after["network_mode"],
        "cpu": after["cpu"],
        "memory": after["memory"],
        # Unknown until apply: stand-ins of the right form.
        "executionRoleArn": "arn:aws:iam::123456789012:role/bgtool-demo-execution",
        "taskRoleArn": "arn:aws:iam::123456789012:role/bgtool-demo-task",
        "volumes": [{"name": volume["name"]} for volume in after["volume"]],
        "runtimePlatform": {"operatingSystemFamily": "LINUX", "cpuArchitecture": "X86_64"},
    }
    container = taskdef["containerDefinitions"][0]
    mounted = {mount["containerPath"] for mount in container.get("mountPoints", [])}
    check("us-east-1: the initial container runs read-only with /tmp, /run and /var/cache/nginx writable",
          container["readonlyRootFilesystem"] is True and mounted == {"/tmp", "/run", "/var/cache/nginx"}
          and {volume["name"] for volume in taskdef["volumes"]}
          == {mount["sourceVolume"] for mount in container["mountPoints"]}, json.dumps(container))
    check("us-east-1: the initial image is nginx from ECR Public, listening on the container port 80",
          container["image"] == "public.ecr.aws/nginx/nginx:stable"
          and container["portMappings"][0]["containerPort"] == 80, json.dumps(container))
    folder = ARTIFACTS / "taskdef"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "emitted-initial.json"
    path.write_text(json.dumps(taskdef, indent=2) + "\n")
    return path


if __name__ == "__main__":
    main()

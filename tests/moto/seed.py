"""Seeds a moto server with the task definitions and services the integration tests read.

Usage: seed.py ENDPOINT_URL

The task definitions are the RegisterTaskDefinition inputs in tests/fixtures/register/. The
`web` service uses the CODE_DEPLOY controller: its own taskDefinition names web:2 (the revision
being deployed) while the PRIMARY task set, which takes production traffic, runs web:1. The
`owned` service (CODE_DEPLOY too) runs owned:1, the revision Terraform registered. The `native`
service has the ECS deployment controller (ECS-native blue/green) and runs native:1; with no
tasks wanted, moto reports its deployment COMPLETED. The `classic` service (CODE_DEPLOY) runs
classic:1 and has a CodeDeploy application and deployment group of the same name, for
`bgtool deploy`. The `rolling` service (ECS controller, behind the target group `rolling`) wants
one task that moto never starts, so its deployment stays IN_PROGRESS for `bgtool wait` to watch.
The cluster `prune-test` holds the families `bgtool prune` works on, with revisions in use by a
service, two task sets and a task.
"""

import json
import pathlib
import sys

import boto3

CLUSTER = "bgtool-test"
PRUNE_CLUSTER = "prune-test"
PRUNE_FAMILIES = ("prune-plan", "prune-real", "prune-denied")
FIXTURES = pathlib.Path(__file__).resolve().parent.parent / "fixtures" / "register"


def main(endpoint: str) -> None:
    session = dict(
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    ecs = boto3.client("ecs", **session)
    ec2 = boto3.client("ec2", **session)
    elb = boto3.client("elbv2", **session)

    def register(name: str, image: str | None = None) -> str:
        document = json.loads((FIXTURES / f"{name}.json").read_text())
        if image is not None:
            document["containerDefinitions"][0]["image"] = image
        return ecs.register_task_definition(**document)["taskDefinition"]["taskDefinitionArn"]

    web_1 = register("web")
    web_2 = register("web", "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v2")
    register("worker")
    register("single")

    ecs.create_cluster(clusterName=CLUSTER)
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]["SubnetId"]
        for cidr, zone in (("10.20.1.0/24", "us-east-1a"), ("10.20.2.0/24", "us-east-1b"))
    ]
    group = ec2.create_security_group(GroupName="web-tasks", Description="web tasks", VpcId=vpc)["GroupId"]
    network = {"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [group], "assignPublicIp": "DISABLED"}}

    def target_group(name: str) -> str:
        return elb.create_target_group(
            Name=name, Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip"
        )["TargetGroups"][0]["TargetGroupArn"]

    def service(name: str, task_definition: str, controller: str, desired: int, group: str | None = None) -> None:
        """A Fargate service in the test network, behind `group` (container `app`, port 8080)."""
        balanced = {} if group is None else {
            "loadBalancers": [{"targetGroupArn": group, "containerName": "app", "containerPort": 8080}]}
        ecs.create_service(cluster=CLUSTER, serviceName=name, taskDefinition=task_definition, desiredCount=desired,
                           launchType="FARGATE", deploymentController={"type": controller},
                           networkConfiguration=network, **balanced)

    def task_set(name: str, task_definition: str) -> str:
        return ecs.create_task_set(cluster=CLUSTER, service=name, taskDefinition=task_definition,
                                   launchType="FARGATE", networkConfiguration=network)["taskSet"]["taskSetArn"]

    def primary_task_set(name: str, task_definition: str) -> None:
        """A task set of `name` running `task_definition`, made PRIMARY (production traffic)."""
        ecs.update_service_primary_task_set(cluster=CLUSTER, service=name,
                                            primaryTaskSet=task_set(name, task_definition))

    service("web", web_2, "CODE_DEPLOY", 2, target_group("web-blue"))
    primary_task_set("web", web_1)
    task_set("web", web_2)

    # `owned`: the family Terraform owns in the ownership tests; its CODE_DEPLOY service runs the
    # first revision, as after `terraform apply`. The tests register further revisions.
    owned_1 = register("owned")
    service("owned", owned_1, "CODE_DEPLOY", 2, target_group("owned-blue"))
    primary_task_set("owned", owned_1)

    ecs.create_service(
        cluster=CLUSTER,
        serviceName="worker",
        taskDefinition="worker",
        desiredCount=1,
        launchType="EC2",
    )
    # `native`: the ECS-native pipeline's service, deployed by `bgtool deploy` in the tests.
    native_1 = register("native")
    service("native", native_1, "ECS", 0)
    # `rolling`: an ECS deployment that never ends, behind a target group with one target.
    rolling_group = target_group("rolling")
    elb.register_targets(TargetGroupArn=rolling_group, Targets=[{"Id": "10.20.1.10", "Port": 8080}])
    service("rolling", native_1, "ECS", 1, rolling_group)
    # `classic`: a CODE_DEPLOY service with its CodeDeploy application and group, for `deploy`.
    classic_1 = register("classic")
    service("classic", classic_1, "CODE_DEPLOY", 1, target_group("classic-blue"))
    primary_task_set("classic", classic_1)
    codedeploy = boto3.client("codedeploy", **session)
    codedeploy.create_application(applicationName="classic", computePlatform="ECS")
    codedeploy.create_deployment_group(
        applicationName="classic",
        deploymentGroupName="classic",
        serviceRoleArn="arn:aws:iam::123456789012:role/classic-codedeploy",
        deploymentConfigName="CodeDeployDefault.ECSAllAtOnce",
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"},
        ecsServices=[{"serviceName": "classic", "clusterName": CLUSTER}],
    )
    # `prune`'s families, one per test that changes or reads them, in their own cluster: ten
    # revisions each, and a family whose name starts the same that must stay untouched.
    ecs.create_cluster(clusterName=PRUNE_CLUSTER)
    for family in PRUNE_FAMILIES:
        revisions = [prune_revision(ecs, family) for _ in range(10)]
        prune_revision(ecs, f"{family}-worker")
        prune_revision(ecs, f"{family}-worker")
        # Revision 3 is the ECS-controller service's; 2 and 4 are task sets of an EXTERNAL one
        # (what a CodeDeploy deployment or its rollback runs); 1 runs as a standalone task.
        ecs.create_service(cluster=PRUNE_CLUSTER, serviceName=family, taskDefinition=revisions[2],
                           desiredCount=0, launchType="FARGATE")
        ecs.create_service(cluster=PRUNE_CLUSTER, serviceName=f"{family}-sets", desiredCount=0,
                           deploymentController={"type": "EXTERNAL"})
        primary = ecs.create_task_set(cluster=PRUNE_CLUSTER, service=f"{family}-sets",
                                      taskDefinition=revisions[1], launchType="FARGATE")["taskSet"]["taskSetArn"]
        ecs.update_service_primary_task_set(cluster=PRUNE_CLUSTER, service=f"{family}-sets", primaryTaskSet=primary)
        ecs.create_task_set(cluster=PRUNE_CLUSTER, service=f"{family}-sets", taskDefinition=revisions[3],
                            launchType="FARGATE")
        ecs.run_task(cluster=PRUNE_CLUSTER, taskDefinition=revisions[0], launchType="FARGATE")
    # What the stacks create beside each service and `verify` (run first by `deploy`) looks for:
    # roles ECS tasks may assume, the awslogs groups, and the image `deploy` is given for
    # `classic` and the buildspec's line-by-line test gives `web` (the whole-build tests push
    # their own through the docker stand-in).
    iam = boto3.client("iam", **session)
    logs = boto3.client("logs", **session)
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    for family in ["web", "worker", "owned", "native", "classic"]:
        for role in ["execution", "task"]:
            iam.create_role(RoleName=f"{family}-{role}", AssumeRolePolicyDocument=trust)
        logs.create_log_group(logGroupName=f"/ecs/{family}")
    # web's secret and parameter (tests/fixtures/register/web.json). moto finds a secret by the
    # last part of its ARN, so the secret is named with the fixture's six-character suffix.
    boto3.client("secretsmanager", **session).create_secret(Name="web/database-url-AbCdEf", SecretString="postgres://db")
    boto3.client("ssm", **session).put_parameter(Name="/web/api-key", Value="key", Type="SecureString")
    ecr = boto3.client("ecr", **session)
    for repository in ["classic", "web"]:
        ecr.create_repository(repositoryName=repository)
        ecr.put_image(repositoryName=repository, imageTag="3f2a1c9d8e7b", imageManifest=json.dumps({
            "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 2, "digest": "sha256:" + "c" * 64},
            "layers": []}))
    print(f"seeded {endpoint}: task definitions web:1, web:2, worker:1, single:1, owned:1, native:1, classic:1; services web, worker, owned, native, rolling, classic; CodeDeploy classic/classic")


def prune_revision(ecs, family: str) -> str:
    """A revision of a plain task definition: no awsvpc, so moto can run it as a task."""
    return ecs.register_task_definition(
        family=family,
        containerDefinitions=[{"name": "app", "image": "public.ecr.aws/nginx/nginx:1", "memory": 128}],
    )["taskDefinition"]["taskDefinitionArn"]


if __name__ == "__main__":
    main(sys.argv[1])

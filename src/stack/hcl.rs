//! The Terraform stack: the templates under `templates/`, compiled in, rendered with the checked
//! options. Pure: options in, file names and contents out. User values reach HCL only through
//! [`hcl_string`], and every one was checked against AWS's naming rules before (see `config`).

use std::fmt::Write;

use minijinja::{Environment, UndefinedBehavior, context};

/// How the service is deployed blue/green.
#[derive(Debug, Clone, PartialEq)]
pub enum Strategy {
    /// CodeDeploy shifts traffic between task sets (the CodeDeployToECS pipeline action).
    Codedeploy {
        /// The full CodeDeploy configuration name, e.g. `CodeDeployDefault.ECSAllAtOnce`.
        deployment_config: String,
    },
    /// ECS shifts traffic itself (the service's deployment strategy; the pipeline's Deploy stage runs `bgtool deploy`).
    EcsNative(EcsNative),
}

/// The ECS deployment strategies that shift traffic between two target groups.
#[derive(Debug, Clone, PartialEq)]
pub enum DeploymentKind {
    BlueGreen,
    Canary {
        percent: f64,
        bake_minutes: u32,
    },
    Linear {
        step_percent: f64,
        step_bake_minutes: u32,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct EcsNative {
    pub kind: DeploymentKind,
    pub bake_time_minutes: u32,
    pub hooks: Vec<LifecycleHook>,
}

/// A Lambda function ECS invokes at one stage of a deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleHook {
    pub stage: String,
    pub function_arn: String,
}

/// The stages of an ECS-native deployment a lifecycle hook can run at, in order.
pub const LIFECYCLE_STAGES: [&str; 7] = [
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
];

impl Strategy {
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Codedeploy { .. } => "codedeploy",
            Self::EcsNative(_) => "ecs-native",
        }
    }
}

/// Everything the stack is rendered from.
#[derive(Debug, Clone, PartialEq)]
pub struct StackOptions {
    pub strategy: Strategy,
    pub name: String,
    pub region: String,
    pub az_count: u8,
    pub private_subnets: bool,
    pub certificate_arn: Option<String>,
    pub container_name: String,
    pub container_port: u16,
    pub cpu: u32,
    pub memory: u32,
    pub desired_count: u32,
    pub health_check_path: String,
    pub github_repository: String,
    pub branch: String,
    /// A release URL the build downloads bgtool from, and its SHA-256; empty for the binary in the
    /// module directory.
    pub bgtool_url: String,
    pub bgtool_sha256: String,
    /// `bgtool hook` checks run on the test listener before production traffic; empty for none.
    pub smoke_tests: Vec<String>,
    /// The command run before each deployment (`bgtool run`); empty for none.
    pub migrate_command: String,
}

/// The Terraform files, in the order they make the most sense to read, with their templates.
const TERRAFORM_FILES: [(&str, &str); 10] = [
    (
        "versions.tf",
        include_str!("../../templates/versions.tf.j2"),
    ),
    (
        "variables.tf",
        include_str!("../../templates/variables.tf.j2"),
    ),
    ("network.tf", include_str!("../../templates/network.tf.j2")),
    ("alb.tf", include_str!("../../templates/alb.tf.j2")),
    ("alarms.tf", include_str!("../../templates/alarms.tf.j2")),
    ("ecs.tf", include_str!("../../templates/ecs.tf.j2")),
    ("iam.tf", include_str!("../../templates/iam.tf.j2")),
    (
        "pipeline.tf",
        include_str!("../../templates/pipeline.tf.j2"),
    ),
    (
        "smoke_test.tf",
        include_str!("../../templates/smoke_test.tf.j2"),
    ),
    ("outputs.tf", include_str!("../../templates/outputs.tf.j2")),
];

/// The build-stage files a module directory gets beside the Terraform: the same reference files
/// the repository keeps (and tests) at its top level, so the names match what the stack sets.
const CODEDEPLOY_BUILD_FILES: [(&str, &str); 2] = [
    ("buildspec.yml", include_str!("../../buildspec.yml")),
    (
        "appspec_template.yaml",
        include_str!("../../appspec_template.yaml"),
    ),
];

/// The ECS-native deploy stage's buildspec, inlined into its CodeBuild project (a heredoc: it must
/// hold no Terraform template sequence, which a unit test checks).
pub const ECS_NATIVE_DEPLOY_BUILDSPEC: &str =
    include_str!("../../templates/buildspec-ecs-native-deploy.yml");

/// With ECS-native deployments the build writes taskdef.json; the deploy stage's buildspec is
/// inlined in the stack.
const ECS_NATIVE_BUILD_FILES: [(&str, &str); 1] = [(
    "buildspec.yml",
    include_str!("../../templates/buildspec-ecs-native.yml"),
)];

/// One emitted file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmittedFile {
    pub name: &'static str,
    pub contents: String,
}

impl StackOptions {
    /// The port of the test listener: HTTPS when there is a certificate.
    #[must_use]
    pub const fn test_listener_port(&self) -> u16 {
        if self.certificate_arn.is_some() {
            8443
        } else {
            8080
        }
    }
}

/// Renders the Terraform files, then the build files, for a module directory.
///
/// # Errors
/// Only when a template is broken, which the tests rule out for every option.
pub fn module_files(options: &StackOptions) -> Result<Vec<EmittedFile>, minijinja::Error> {
    let mut files = terraform_files(options)?;
    let build_files: &[(&str, &str)] = match options.strategy {
        Strategy::Codedeploy { .. } => &CODEDEPLOY_BUILD_FILES,
        Strategy::EcsNative(_) => &ECS_NATIVE_BUILD_FILES,
    };
    files.extend(build_files.iter().map(|(name, contents)| {
        let mut contents = (*contents).to_owned();
        if *name == "appspec_template.yaml" && !options.smoke_tests.is_empty() {
            contents.push_str(&smoke_test_appspec_hook(&options.name));
        }
        EmittedFile { name, contents }
    }));
    Ok(files)
}

/// The AppSpec's hook that runs the stack's smoke-test function once test traffic reaches the
/// replacement task set, before production traffic moves (CodeDeploy rolls back on Failed). The
/// name matches `NAME-*`, the functions the CodeDeploy role may invoke.
fn smoke_test_appspec_hook(name: &str) -> String {
    [
        "# The stack's smoke test (`bgtool hook`, smoke_test.tf): a release that fails it is rolled",
        "# back before it takes production traffic.",
        "Hooks:",
        &format!("  - AfterAllowTestTraffic: \"{name}-smoke-test\""),
        "",
    ]
    .join("\n")
}

/// The whole configuration as one file, for `bgtool emit-hcl > main.tf`.
///
/// # Errors
/// Only when a template is broken.
pub fn single_file(options: &StackOptions) -> Result<String, minijinja::Error> {
    let mut text = String::from(match options.strategy {
        Strategy::Codedeploy { .. } => {
            "# Amazon ECS service deployed blue/green by CodeDeploy through CodePipeline.\n\
             # Written by `bgtool emit-hcl`; `bgtool emit-hcl --out-dir DIR` writes the same stack as a\n\
             # module directory, with the buildspec.yml and appspec_template.yaml it expects.\n"
        }
        Strategy::EcsNative(_) => {
            "# Amazon ECS service deployed blue/green by ECS itself, through CodePipeline.\n\
             # Written by `bgtool emit-hcl --strategy ecs-native`; with `--out-dir DIR` it writes the same\n\
             # stack as a module directory, with the buildspec.yml it expects.\n"
        }
    });
    for file in terraform_files(options)? {
        text.push_str("\n# ---- ");
        text.push_str(file.name);
        text.push_str(" ----\n\n");
        text.push_str(&file.contents);
    }
    Ok(text)
}

fn terraform_files(options: &StackOptions) -> Result<Vec<EmittedFile>, minijinja::Error> {
    let mut environment = Environment::new();
    environment.set_undefined_behavior(UndefinedBehavior::Strict);
    // Block tags stand on lines of their own in the templates and leave no trace in the output.
    environment.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()?,
    );
    environment.add_filter("hcl", |text: &str| hcl_string(text));
    for (name, source) in TERRAFORM_FILES {
        environment.add_template(name, source)?;
    }
    let (deployment_config, kind, ecs_native) = match &options.strategy {
        Strategy::Codedeploy { deployment_config } => (deployment_config.as_str(), None, None),
        Strategy::EcsNative(native) => ("", Some(&native.kind), Some(native)),
    };
    let (strategy_kind, canary_percent, canary_bake, linear_step_percent, linear_step_bake) =
        match kind {
            None => ("", 0.0, 0, 0.0, 0),
            Some(DeploymentKind::BlueGreen) => ("BLUE_GREEN", 0.0, 0, 0.0, 0),
            Some(DeploymentKind::Canary {
                percent,
                bake_minutes,
            }) => ("CANARY", *percent, *bake_minutes, 0.0, 0),
            Some(DeploymentKind::Linear {
                step_percent,
                step_bake_minutes,
            }) => ("LINEAR", 0.0, 0, *step_percent, *step_bake_minutes),
        };
    let context = context! {
        strategy => options.strategy.as_str(),
        deployment_config => deployment_config,
        strategy_kind => strategy_kind,
        bake_time => ecs_native.map_or(0, |native| native.bake_time_minutes),
        canary_percent => canary_percent,
        canary_bake => canary_bake,
        linear_step_percent => linear_step_percent,
        linear_step_bake => linear_step_bake,
        hooks => ecs_native
            .map(|native| native.hooks.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|hook| {
                minijinja::Value::from_pairs([
                    ("stage", hook.stage.as_str()),
                    ("function_arn", hook.function_arn.as_str()),
                ])
            })
            .collect::<Vec<_>>(),
        name => &options.name,
        region => &options.region,
        az_count => options.az_count,
        private_subnets => options.private_subnets,
        https => options.certificate_arn.is_some(),
        certificate_arn => options.certificate_arn.as_deref().unwrap_or_default(),
        container_name => &options.container_name,
        container_port => options.container_port,
        cpu => options.cpu,
        memory => options.memory,
        desired_count => options.desired_count,
        health_check_path => &options.health_check_path,
        github_repository => &options.github_repository,
        branch => &options.branch,
        test_listener_port => options.test_listener_port(),
        // ECS-native CANARY and LINEAR strategies arrived in hashicorp/aws 6.21. The CodeDeploy
        // stack runs on 5.100 too, where many teams still are.
        provider_constraint => if ecs_native.is_some() { ">= 6.21, < 7.0" } else { ">= 5.100, < 7.0" },
        deploy_buildspec => ECS_NATIVE_DEPLOY_BUILDSPEC.trim_end(),
        max_deployment_wait_minutes => crate::config::MAX_DEPLOYMENT_WAIT_MINUTES,
        bgtool_url => &options.bgtool_url,
        bgtool_sha256 => &options.bgtool_sha256,
        task_subnets => if options.private_subnets { "private" } else { "public" },
        assign_public_ip => if options.private_subnets { "false" } else { "true" },
        smoke_tests => &options.smoke_tests,
        migrate_command => &options.migrate_command,
    };
    let mut files = Vec::new();
    for (name, _) in TERRAFORM_FILES {
        let contents = environment.get_template(name)?.render(&context)?;
        // A part the options leave out (the smoke test) renders to nothing: no empty file.
        if !contents.trim().is_empty() {
            files.push(EmittedFile { name, contents });
        }
    }
    Ok(files)
}

/// `text` as a quoted HCL string: quotes, backslashes and control characters escaped, and the
/// template sequences `${` and `%{` doubled so Terraform reads them literally.
#[must_use]
pub fn hcl_string(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    let mut characters = text.chars().peekable();
    while let Some(character) = characters.next() {
        match character {
            '"' => quoted.push_str("\\\""),
            '\\' => quoted.push_str("\\\\"),
            '\n' => quoted.push_str("\\n"),
            '\r' => quoted.push_str("\\r"),
            '\t' => quoted.push_str("\\t"),
            '$' | '%' if characters.peek() == Some(&'{') => {
                quoted.push(character);
                quoted.push(character);
            }
            control if control.is_control() => {
                let _ = write!(quoted, "\\u{:04X}", u32::from(control));
            }
            other => quoted.push(other),
        }
    }
    quoted.push('"');
    quoted
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_inlined_deploy_buildspec_holds_no_terraform_template_sequence() {
        let text = super::ECS_NATIVE_DEPLOY_BUILDSPEC;
        assert!(!text.contains("${") && !text.contains("%{"), "{text}");
        assert!(text.lines().all(|line| line.trim() != "EOT"), "{text}");
    }

    use super::*;

    #[test]
    fn hcl_strings_escape_everything_terraform_would_interpret() {
        assert_eq!(hcl_string("plain"), "\"plain\"");
        assert_eq!(hcl_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_eq!(
            hcl_string("${var.x} %{if} $5 %d"),
            "\"$${var.x} %%{if} $5 %d\""
        );
        assert_eq!(hcl_string("line\nbreak\u{1}"), "\"line\\nbreak\\u0001\"");
    }
}

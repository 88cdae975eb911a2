//! `bgtool image-detail` and `bgtool image-definitions`: the image files the two pipeline deploy
//! actions read.

use std::fs;

use crate::harness::{artifacts, bgtool, run};

#[test]
fn writes_the_image_uri_document() {
    let output = artifacts("image-detail").join("imageDetail.json");
    let uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:3f2a1c9";
    let run = run(bgtool()
        .args(["image-detail", "--image-uri", uri, "-o"])
        .arg(&output));
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!("image_detail", fs::read_to_string(&output).unwrap());
}

#[test]
fn prints_to_standard_output_by_default() {
    let run = run(bgtool().args([
        "image-detail",
        "--image-uri",
        "repo/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let document: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        document["ImageURI"],
        "repo/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    );
}

#[test]
fn refuses_what_is_not_an_image_reference() {
    for uri in [
        "",
        "repo/app:1 ",
        "repo/app:$TAG",
        "<IMAGE1_NAME>",
        "repo/app@sha256:short",
    ] {
        let run = run(bgtool().args(["image-detail", "--image-uri", uri]));
        assert_eq!(run.code, 2, "{uri:?}: {}", run.stderr);
        assert_eq!(run.stdout, "");
        assert!(
            run.stderr.starts_with("bgtool: error: `--image-uri`: "),
            "{uri:?}: {}",
            run.stderr
        );
    }
}

#[test]
fn image_definitions_list_each_container() {
    let output = artifacts("image-detail").join("imagedefinitions.json");
    let run = run(bgtool()
        .args([
            "image-definitions",
            "--container",
            "app=123456789012.dkr.ecr.us-east-1.amazonaws.com/web:3f2a1c9",
            "--container",
            "envoy=840364872350.dkr.ecr.us-east-1.amazonaws.com/aws-appmesh-envoy:v1.29.6.0-prod",
            "-o",
        ])
        .arg(&output));
    assert_eq!(run.code, 0, "{}", run.stderr);
    insta::assert_snapshot!("image_definitions", fs::read_to_string(&output).unwrap());
}

#[test]
fn image_definitions_refuse_what_image_detail_refuses() {
    for arguments in [
        vec!["image-definitions"],
        vec!["image-definitions", "--container", "app"],
        vec!["image-definitions", "--container", "app=repo/app:$TAG"],
        vec!["image-definitions", "--container", "my app=repo/app:1"],
        vec![
            "image-definitions",
            "--container",
            "app=repo/app:1",
            "--container",
            "app=repo/app:2",
        ],
    ] {
        let run = run(bgtool().args(&arguments));
        assert_eq!(run.code, 2, "{arguments:?}: {}", run.stderr);
        assert_eq!(run.stdout, "");
    }
}

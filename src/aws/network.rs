//! EC2 through the signed caller: the private addresses of a load balancer's network interfaces,
//! for the smoke-test hook in public subnets, which reaches the load balancer only inside the
//! VPC (its public addresses need a public IP or a NAT gateway the function does not have).

use serde_json::Value;

use super::calls::{Call, Lookup};
use super::signed::{EC2, Parameters, Signed};

/// DescribeNetworkInterfaces of the interfaces whose description Elastic Load Balancing gives
/// them (`ELB app/NAME/ID`): their private addresses, in the order EC2 lists them.
///
/// # Errors
/// EC2's error, worded.
pub async fn load_balancer_addresses(
    signed: &Signed,
    load_balancer: &str,
) -> Result<Vec<String>, String> {
    let answer = signed
        .send(
            &EC2,
            None,
            "DescribeNetworkInterfaces",
            "ec2:DescribeNetworkInterfaces",
            Parameters::Query(vec![
                ("Filter.1.Name".to_owned(), "description".to_owned()),
                (
                    "Filter.1.Value.1".to_owned(),
                    format!("ELB {load_balancer}"),
                ),
            ]),
        )
        .await
        .map_err(|error| {
            let call = Call {
                action: "ec2:DescribeNetworkInterfaces",
                subject: format!("the network interfaces of load balancer `{load_balancer}`"),
                lookup: Lookup::Hint(
                    "the function needs a way to EC2's API: the stack's interface endpoint"
                        .to_owned(),
                ),
            };
            format!("{:#}", signed.explain(&EC2, None, &error, &call))
        })?;
    Ok(addresses(&answer))
}

/// The `privateIpAddress` of each item of `networkInterfaceSet` (EC2 lists with `item`).
fn addresses(answer: &Value) -> Vec<String> {
    let items = answer.pointer("/DescribeNetworkInterfacesResponse/networkInterfaceSet/item");
    let items = match items {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(item) => vec![item],
        None => Vec::new(),
    };
    items
        .into_iter()
        .filter_map(|item| item.get("privateIpAddress").and_then(Value::as_str))
        .map(ToOwned::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::signed::xml_to_json;

    #[test]
    fn each_interface_gives_its_private_address() {
        let two = xml_to_json(
            r#"<DescribeNetworkInterfacesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>1</requestId><networkInterfaceSet>
<item><networkInterfaceId>eni-1</networkInterfaceId><description>ELB app/web/0f</description><privateIpAddress>10.0.0.12</privateIpAddress><privateIpAddressesSet><item><privateIpAddress>10.0.0.12</privateIpAddress><primary>true</primary></item></privateIpAddressesSet></item>
<item><networkInterfaceId>eni-2</networkInterfaceId><description>ELB app/web/0f</description><privateIpAddress>10.0.1.40</privateIpAddress></item>
</networkInterfaceSet></DescribeNetworkInterfacesResponse>"#,
        )
        .unwrap();
        assert_eq!(addresses(&two), ["10.0.0.12", "10.0.1.40"]);
        let one = xml_to_json(
            "<DescribeNetworkInterfacesResponse><networkInterfaceSet><item><privateIpAddress>10.0.2.7</privateIpAddress></item></networkInterfaceSet></DescribeNetworkInterfacesResponse>",
        )
        .unwrap();
        assert_eq!(addresses(&one), ["10.0.2.7"]);
        let none = xml_to_json(
            "<DescribeNetworkInterfacesResponse><networkInterfaceSet/></DescribeNetworkInterfacesResponse>",
        )
        .unwrap();
        assert!(addresses(&none).is_empty());
    }
}

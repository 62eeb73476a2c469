mod common;

#[test]
fn image_builds() {
    if !common::docker_available("image_builds") {
        return;
    }
    common::test_image();
}

"""``WAREROOM_MQTT_URL`` gives every MQTT client the broker's address, credentials and TLS."""

from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from integrations.mqtt.broker_config import BrokerConfig


def test_plain_and_tls_urls_with_credentials() -> None:
    plain = BrokerConfig.from_url("mqtt://wareroom:p%40ss@broker.lan")
    assert (plain.host, plain.port, plain.username, plain.password, plain.tls) == (
        "broker.lan", 1883, "wareroom", "p@ss", False)
    secure = BrokerConfig.from_url("mqtts://broker.lan", ca_file=Path("/etc/ssl/site-ca.pem"))
    assert (secure.port, secure.tls, secure.username, secure.ca_file) == (8883, True, None,
                                                                          Path("/etc/ssl/site-ca.pem"))


def test_tls_is_switched_on_for_mqtts() -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    BrokerConfig.from_url("mqtts://u:p@127.0.0.1:8883").apply(client)
    with pytest.raises(ValueError, match="already been configured"):  # paho's word that TLS is on
        client.tls_set()


def test_another_scheme_is_refused_in_both_languages() -> None:
    with pytest.raises(ValueError, match=r"MQTT 地址.*An MQTT URL looks like"):
        BrokerConfig.from_url("http://broker.lan")

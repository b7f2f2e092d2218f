#!/usr/bin/env bash
# A real Apache Kafka broker for the tests and benchmarks: one KRaft node
# (broker and controller in one JVM) on free 127.0.0.1 ports, no Docker.
#
#   eval "$(bash scripts/servers/kafka.sh start)"   # stdout is only `export` lines
#   bash scripts/servers/kafka.sh stop
#
# The jars (kafka_2.13 and its runtime dependencies, plus kafka-tools for
# ProducerPerformance/ConsumerPerformance) come from Maven Central, pinned below
# with their SHA-256, and are cached in .cache/kafka/<version>/libs (ignored).
# MAVEN_REPO_URL points at another mirror of Maven Central.
#
# One broker offers four listeners:
#   PLAINTEXT        CONDUIT_TEST_KAFKA_SERVERS
#   SSL (mutual TLS) CONDUIT_TEST_KAFKA_SSL_SERVERS        client certificate required
#   SASL_SSL         CONDUIT_TEST_KAFKA_SASL_SSL_SERVERS   PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
#   SASL_PLAINTEXT   CONDUIT_TEST_KAFKA_SASL_PLAINTEXT_SERVERS (same mechanisms)
# The CA, client certificate and key (PEM) and the SASL user are exported too.
# Certificates are made with openssl in the state folder.
#
# `start` is idempotent: when the broker of the state folder runs, it only prints
# the exports again; when it died (kill -9), it starts again on the same ports
# with the same data. The state folder is .cache/test-servers/kafka unless
# CONDUIT_TEST_KAFKA_STATE names another (a test that kills its broker uses a
# private one; broker.pid in it is the broker's process id).
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
state="${CONDUIT_TEST_KAFKA_STATE:-$root/.cache/test-servers/kafka}"
version=4.2.0
libs="$root/.cache/kafka/$version/libs"
repo="${MAVEN_REPO_URL:-https://repo1.maven.org/maven2}"
sasl_user=conduit
sasl_password=conduit-test-secret
tls_password=conduit-test-tls

log() { echo "kafka: $*" >&2; }

# kafka_2.13 and kafka-tools $version, log4j2 and slf4j 2, with their runtime
# dependencies as Maven resolves them: "<sha256>  <path under the repository>".
# To move to another version, resolve a pom with those dependencies
# (mvn dependency:copy-dependencies -DincludeScope=runtime) and list the jars.
pinned_jars() {
  cat <<'LIST'
22d1d4316c4ec13a68b559e98c8256d69071593731da96136640f864fa14fad8  org/hdrhistogram/HdrHistogram/2.2.2/HdrHistogram-2.2.2.jar
ae475120e9fcd99b4b00b38329bd61cdc5eb754eee03fe66c01f50e137724f99  javax/activation/activation/1.1.1/activation-1.1.1.jar
a82b6d1a348324ef88dc807c7cd7aaf633985cbff7b30036fb61a1b86981d840  org/glassfish/hk2/external/aopalliance-repackaged/3.0.6/aopalliance-repackaged-3.0.6.jar
65ceb669d88f63306c680f8088bbf765bbca72d288a61a03703000076c3d3f56  net/sourceforge/argparse4j/argparse4j/0.7.0/argparse4j-0.7.0.jar
ec411dfdf0c03f25218648ce89861630b71680e5858a9a7278ebac8e55cab3d7  com/github/ben-manes/caffeine/caffeine/3.2.0/caffeine-3.2.0.jar
16558357f234052370109127a45d69a9bd6d8646925594792634486dc48b159d  io/github/classgraph/classgraph/4.8.179/classgraph-4.8.179.jar
9e44ba68ec9a3f21286fa2a8bbb003b735c0f69101bb43144b79f4f8aaa74709  commons-beanutils/commons-beanutils/1.11.0/commons-beanutils-1.11.0.jar
eeeae917917144a68a741d4c0dff66aa5c5c5fd85593ff217bced3fc8ca783b8  commons-collections/commons-collections/3.2.2/commons-collections-3.2.2.jar
e0b2b980a84fc6533c5ce291f1917b32c507f62bcad64198fff44368c2196a3d  commons-digester/commons-digester/2.1/commons-digester-2.1.jar
d919d904486c037f8d193412da0c92e22a9fa24230b9d67a57855c5c31c7e94e  org/apache/commons/commons-lang3/3.12.0/commons-lang3-3.12.0.jar
6d7a744e4027649fbb50895df9497d109f98c766a637062fe8d2eabbb3140ba4  commons-logging/commons-logging/1.3.5/commons-logging-1.3.5.jar
ed74711a78d793ca37f6075e4a1e93d107233dfd20d0bb17e32bad88d38e56aa  commons-validator/commons-validator/1.10.1/commons-validator-1.10.1.jar
ef604caecf0ce44e682195dbb2f5d5f44bf86e59d29d7d6c397ccc828d6a076e  org/apache/kafka/connect-api/4.2.0/connect-api-4.2.0.jar
95d2f9da55e753a568ad87ee98c9c68e0998ac25eeea375c990837952170a92f  org/apache/kafka/connect-json/4.2.0/connect-json-4.2.0.jar
055c7f391ac7b4d62cabdb4334b5f91d89bd257d22722b0d7665bdbe251470cb  org/apache/kafka/connect-runtime/4.2.0/connect-runtime-4.2.0.jar
1bf1d2bdc476cdd54b06878749c0e7c373c08ed4d8f37c1f947e9bff2a8fe6d4  org/apache/kafka/connect-transforms/4.2.0/connect-transforms-4.2.0.jar
23028a3fd006e530bf495f551083208187cafd8f80624d048eba56442f16a50e  com/dynatrace/hash4j/hash4j/0.22.0/hash4j-0.22.0.jar
c049a21a9fd9316c7e291a2bc28835f70d25affb623dc1599a83b6b84ec83a4f  org/glassfish/hk2/hk2-api/3.0.6/hk2-api-3.0.6.jar
e2664d21b017c3aa1518b913264602bea604edc54d356103c10afba99abd04fc  org/glassfish/hk2/hk2-locator/3.0.6/hk2-locator-3.0.6.jar
fc84d85a0744b576d9ec7db5845eeb998ed532a9450dd19c8c922c3ee6926206  org/glassfish/hk2/hk2-utils/3.0.6/hk2-utils-3.0.6.jar
e516743a316dcf83c572ffc9cb6e8c5e8c134880c8c5155b02f7b34e9c5dc3cf  com/fasterxml/jackson/core/jackson-annotations/2.19.2/jackson-annotations-2.19.2.jar
aa77eaf29293a868c47372194f7c5287d77d9370b04ea25d3fffc1e4904b5880  com/fasterxml/jackson/core/jackson-core/2.19.2/jackson-core-2.19.2.jar
0a1bd4e9b0d670e632d40ee8c625ad376233502f03c2f5889baea95d025b47a7  com/fasterxml/jackson/core/jackson-databind/2.19.2/jackson-databind-2.19.2.jar
00a733ae8d1eadefefbef22dd2a2565b665e687864a11db3fad3487bb9448905  com/fasterxml/jackson/dataformat/jackson-dataformat-csv/2.19.2/jackson-dataformat-csv-2.19.2.jar
80a213e7d998244922ab7bcf0938ea03eb7868e88e2d05a8407c6228c885a37e  com/fasterxml/jackson/dataformat/jackson-dataformat-yaml/2.19.2/jackson-dataformat-yaml-2.19.2.jar
6055fef10756e8bd1b0e8807aa1d881338c63ca95d59271e1da4922b9a17581e  com/fasterxml/jackson/datatype/jackson-datatype-jdk8/2.19.2/jackson-datatype-jdk8-2.19.2.jar
17fe62cff6bf7aeaaf74136009af5c4b4995488c537bb6e928f70edacec8e0b0  com/fasterxml/jackson/jakarta/rs/jackson-jakarta-rs-base/2.19.2/jackson-jakarta-rs-base-2.19.2.jar
1e28f38555f59ad466e0ac1f72efcbbbe3c10ea950cb191ffe612711d9140165  com/fasterxml/jackson/jakarta/rs/jackson-jakarta-rs-json-provider/2.19.2/jackson-jakarta-rs-json-provider-2.19.2.jar
7dada397b85d64b1f33c997a813b1322d8803ed9d56d03c29b2f6ba1f6ea4397  com/fasterxml/jackson/module/jackson-module-blackbird/2.19.2/jackson-module-blackbird-2.19.2.jar
bbaf447e507b14e6ffb3f755c4b1e60f52399c73f333805f34afba67ef17592b  com/fasterxml/jackson/module/jackson-module-jakarta-xmlbind-annotations/2.19.2/jackson-module-jakarta-xmlbind-annotations-2.19.2.jar
b9e24b7dd6e07495562ea96531be3130c96dba4d78e1dfd88adbbdebf4332871  com/sun/activation/jakarta.activation/2.0.1/jakarta.activation-2.0.1.jar
56e8d994095fe49c28138c60291482f66f18d12ac2b720e938697dce6a3135c7  jakarta/activation/jakarta.activation-api/2.1.0/jakarta.activation-api-2.1.0.jar
5f65fdaf424eee2b55e1d882ba9bb376be93fb09b37b808be6e22e8851c909fe  jakarta/annotation/jakarta.annotation-api/2.1.1/jakarta.annotation-api-2.1.1.jar
f7dc98062fccf14126abb751b64fab12c312566e8cbdc8483598bffcea93af7c  jakarta/inject/jakarta.inject-api/2.0.1/jakarta.inject-api-2.0.1.jar
c034eb1afb158987dbb53a5fea0cadf611c8dae8daadd59c44d9d5ab70129cef  jakarta/servlet/jakarta.servlet-api/6.0.0/jakarta.servlet-api-6.0.0.jar
291c25e6910cc6a7ebd96d4c6baebf6d7c37676c5482c2d96146e901b62c1fc9  jakarta/validation/jakarta.validation-api/3.0.2/jakarta.validation-api-3.0.2.jar
6b3b3628b8b4aedda0d24c3354335e985497d8ef3c510b8f3028e920d5b8663d  jakarta/ws/rs/jakarta.ws.rs-api/3.1.0/jakarta.ws.rs-api-3.1.0.jar
b8fb4bee3ff5b5c1ef77144d8411316018d7bbd41fcf1ede0646f7978546b867  jakarta/xml/bind/jakarta.xml.bind-api/3.0.1/jakarta.xml.bind-api-3.0.1.jar
eba37290994b5e4868f3af98ff113f6244a6b099385d9ad46881307d3cb01aaf  org/javassist/javassist/3.30.2-GA/javassist-3.30.2-GA.jar
43fdef0b5b6ceb31b0424b208b930c74ab58fac2ceeb7b3f6fd3aeb8b5ca4393  javax/activation/javax.activation-api/1.2.0/javax.activation-api-1.2.0.jar
88b955a0df57880a26a74708bc34f74dcaf8ebf4e78843a28b50eae945732b06  javax/xml/bind/jaxb-api/2.3.1/jaxb-api-2.3.1.jar
96cf86c23b515da20a30a39633a920f12a420d1e5f02c55ef5577ca2694d11c6  org/glassfish/jersey/core/jersey-client/3.1.10/jersey-client-3.1.10.jar
b8df5de87d48d6abf555f340755a056c8cb29a660af958e959db8a4cb3552b54  org/glassfish/jersey/core/jersey-common/3.1.10/jersey-common-3.1.10.jar
4aadc66d2d36afb273b3898581d6aa51e0f992308d56fd51b8e3201efa461f67  org/glassfish/jersey/containers/jersey-container-servlet/3.1.10/jersey-container-servlet-3.1.10.jar
fd15e7e37215d772ccdae8d4076c41a11ad3fec9ca88a1f8a8f6dacf4663bb69  org/glassfish/jersey/containers/jersey-container-servlet-core/3.1.10/jersey-container-servlet-core-3.1.10.jar
00ed71c496a856ac1f73272482a7abe27b5a96b823c29cc08f4b708c8d3e647e  org/glassfish/jersey/inject/jersey-hk2/3.1.10/jersey-hk2-3.1.10.jar
1b33a9be417b72f7ceef3afe9780781b66122b0f1db78f2f82502988072cfab0  org/glassfish/jersey/core/jersey-server/3.1.10/jersey-server-3.1.10.jar
0c6b40cc72825e30e2935ea33c058b94783a6a7cdc345c20d2dc5585d4f8fd8d  org/eclipse/jetty/jetty-alpn-client/12.0.22/jetty-alpn-client-12.0.22.jar
6d975e2ed44cad0618cc34cf0645eb6781482de90b23f70de8668fc275afb5a3  org/eclipse/jetty/jetty-client/12.0.22/jetty-client-12.0.22.jar
f0819307fe3108d703515d38890ca576c6b940e089ebf02993e223fd27dd945c  org/eclipse/jetty/ee10/jetty-ee10-servlet/12.0.22/jetty-ee10-servlet-12.0.22.jar
d55da9ba12b8d06d4618e6c09e0e5b64e104014b53a152b81387dad1edcb4f8a  org/eclipse/jetty/ee10/jetty-ee10-servlets/12.0.22/jetty-ee10-servlets-12.0.22.jar
124b31c6e570aadd5198fa3edf639927b1ffeb95b2fad9fc707e572c11ee1c83  org/eclipse/jetty/jetty-http/12.0.22/jetty-http-12.0.22.jar
aba6568fcbac7abd67d7f8a8807a8ae6c645937beb6666b517b128669cc37d6f  org/eclipse/jetty/jetty-io/12.0.22/jetty-io-12.0.22.jar
d6a779a81190479c404ccecd427ad24250a53265ed26ad1810b182a9b923e4de  org/eclipse/jetty/jetty-security/12.0.22/jetty-security-12.0.22.jar
dbac8c77cc006bb83f02603ae631ed81db99f5372b38e18b1ffc464edcdceba5  org/eclipse/jetty/jetty-server/12.0.22/jetty-server-12.0.22.jar
15655a03efeb57f4d4fcbeb6c7d1bb341dc1a9be5e4cbaa3501c0aab11df9076  org/eclipse/jetty/jetty-session/12.0.22/jetty-session-12.0.22.jar
87cc0f03036b795023465613d330f58d7094da21b37bb44bcb1f6329031075e6  org/eclipse/jetty/jetty-util/12.0.22/jetty-util-12.0.22.jar
df26cc58f235f477db07f753ba5a3ab243ebe5789d9f89ecf68dd62ea9a66c28  net/sf/jopt-simple/jopt-simple/5.0.4/jopt-simple-5.0.4.jar
7314af50cde9c99e8eaf43eee617a23edcc6bb43036221064355094999d837ef  org/bitbucket/b_c/jose4j/0.9.6/jose4j-0.9.6.jar
1fad6e6be7557781e4d33729d49ae1cdc8fdda6fe477bb0cc68ce351eafdfbab  org/jspecify/jspecify/1.0.0/jspecify-1.0.0.jar
bcf39f152c5553c2501a491fc4a73c5b0330741e8eed96a481323b8ee89738af  org/apache/kafka/kafka-clients/4.2.0/kafka-clients-4.2.0.jar
75c9ce733dd11759ef19f05d21af6397bacbf86dde83551ba46ecde51da1674d  org/apache/kafka/kafka-coordinator-common/4.2.0/kafka-coordinator-common-4.2.0.jar
6038093c1823c622a71825297aa03881d66b7df15213cb3a5e930cc36c32d1fb  org/apache/kafka/kafka-group-coordinator/4.2.0/kafka-group-coordinator-4.2.0.jar
7d3329e5696d48d84ebd0f7f25c4b27c14e397eb013d8a6113ce38d8e043c2aa  org/apache/kafka/kafka-group-coordinator-api/4.2.0/kafka-group-coordinator-api-4.2.0.jar
55fd69178bd1679ae484226e76d78556445e8d8668c03b511f351cf154bec845  org/apache/kafka/kafka-metadata/4.2.0/kafka-metadata-4.2.0.jar
206c9580c4a9dde784e36508cdb1b020debb5a49b465712958e05cd6cc4da256  org/apache/kafka/kafka-raft/4.2.0/kafka-raft-4.2.0.jar
907c4c0ec05b99d311ab945be9747d5ac6f1697702529a8be55022126ca3742e  org/apache/kafka/kafka-server/4.2.0/kafka-server-4.2.0.jar
e99890e8e09784e4d84f9295db4012c73cde6c2cddba0a4e104cb102e18e4aa0  org/apache/kafka/kafka-server-common/4.2.0/kafka-server-common-4.2.0.jar
0f5f3e3561c8102a4f45399d028a36e70e7947cb1393cd98394e22ed7618852e  org/apache/kafka/kafka-share-coordinator/4.2.0/kafka-share-coordinator-4.2.0.jar
46316f7e8b3be51d83e0f2be63f6f4e61d7f19df1379fd0efe74c14c10582082  org/apache/kafka/kafka-storage/4.2.0/kafka-storage-4.2.0.jar
188cf7523cf3684913c645007b8e442b3934badfbf9082a3a0572172cc9f1214  org/apache/kafka/kafka-storage-api/4.2.0/kafka-storage-api-4.2.0.jar
6b88f3f0799c585b5121d9f710e448cd365d4cfd55ff3ab5d2d81f52ae59030d  org/apache/kafka/kafka-tools/4.2.0/kafka-tools-4.2.0.jar
0b0b73e897dfe87c2505695d72cacc5239aa15e9c8302ac918dc0705c30e70e9  org/apache/kafka/kafka-tools-api/4.2.0/kafka-tools-api-4.2.0.jar
1f337382004c3f0213845af939564aeb87f5973d0cce42b912e2d5b8dcf80b69  org/apache/kafka/kafka-transaction-coordinator/4.2.0/kafka-transaction-coordinator-4.2.0.jar
0490bc0a8675f9217c52b788c8a586f692ad5ae34a50a3ed370d2533b01bdbcb  org/apache/kafka/kafka_2.13/4.2.0/kafka_2.13-4.2.0.jar
5b4a0a0cd0e751ded431c162442bdbdd53328d1f8bb2bae5fc1bbeee0f66d80f  org/apache/logging/log4j/log4j-api/2.24.3/log4j-api-2.24.3.jar
7eb4084596ae25bd3c61698e48e8d0ab65a9260758884ed5cbb9c6e55c44a56a  org/apache/logging/log4j/log4j-core/2.24.3/log4j-core-2.24.3.jar
cdaac22e40ec30c4096e1ebe8c454c8826c0d1c378d7db5d7b3ad166354b0bd3  org/apache/logging/log4j/log4j-slf4j2-impl/2.24.3/log4j-slf4j2-impl-2.24.3.jar
a58a84c4271e50df4c96ed916ccb7e48a869f8ed9cdcda1ad5d3d4c33b0214a3  at/yawk/lz4/lz4-java/1.10.1/lz4-java-1.10.1.jar
ad7a0fb408f8e47585ccc0d0011e0b501d93bfc9888d369bbd4a043d19475073  org/apache/maven/maven-artifact/3.9.6/maven-artifact-3.9.6.jar
6b7a14a6f34c10f8683f7b5e2f39df0f07b58c7dff0e468ebbc713905c46979c  com/yammer/metrics/metrics-core/2.2.0/metrics-core-2.2.0.jar
aab5d7849f7cfcda2cc7c541ba1bd365151d42276f151c825387245dfde3dd74  org/glassfish/hk2/osgi-resource-locator/1.0.3/osgi-resource-locator-1.0.3.jar
2bbeef5797a241300c4f7513cd546239629ed7deda4fc0c31df90bb95f5f13ef  org/pcollections/pcollections/4.0.2/pcollections-4.0.2.jar
86e0255d4c879c61b4833ed7f13124e8bb679df47debb127326e7db7dd49a07b  org/codehaus/plexus/plexus-utils/3.5.1/plexus-utils-3.5.1.jar
7b52c72156dd7f98b3237a5b35c1d34fba381b21048c89208913ad80a45dfbd7  com/google/re2j/re2j/1.8/re2j-1.8.jar
b7822c4225243215f185925724a6edff92cf18777a136cc738276c4446fac76c  org/scala-lang/scala-library/2.13.17/scala-library-2.13.17.jar
0ad0c3f4d89d538b3b6c300158555e266aa69cf1b5f6522aba8b5bad238eb994  com/typesafe/scala-logging/scala-logging_2.13/3.9.6/scala-logging_2.13-3.9.6.jar
734533897bcfabe7a6e7fa09dbee165b257b0396e14e8a57c75111db8e04bb98  org/scala-lang/scala-reflect/2.13.17/scala-reflect-2.13.17.jar
7b751d952061954d5abfed7181c1f645d336091b679891591d63329c622eb832  org/slf4j/slf4j-api/2.0.17/slf4j-api-2.0.17.jar
ef779af5d29a9dde8cc70ce0341f5c6f7735e23edff9685ceaa9d35359b7bb7f  org/yaml/snakeyaml/2.4/snakeyaml-2.4.jar
4c766cb3f855415ee734b2392949a0b6f12a60879334a74518deaf6270d32e36  org/xerial/snappy/snappy-java/1.1.10.7/snappy-java-1.1.10.7.jar
ea3017076809f8104ff8a130dc4c12db8c67595aa1d978104a9beca8277a7d29  io/swagger/core/v3/swagger-annotations/2.2.39/swagger-annotations-2.2.39.jar
b6c3237e24b8252a5a9c3a0e1ae30ef8f323412e74bd358548b7a9e527d676df  com/github/luben/zstd-jni/1.5.6-10/zstd-jni-1.5.6-10.jar
LIST
}

fetch_jars() {
  if [ -f "$libs/.complete" ]; then return 0; fi
  command -v curl >/dev/null || { log "curl is needed to fetch the Kafka jars"; exit 1; }
  local tmp cfg path file
  tmp="$(dirname "$libs")/libs.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  cfg="$tmp/.curl"
  : >"$cfg"
  : >"$tmp/.sha256"
  while read -r sum path; do
    file="${path##*/}"
    printf 'url = "%s/%s"\noutput = "%s/%s"\n' "$repo" "$path" "$tmp" "$file" >>"$cfg"
    printf '%s  %s\n' "$sum" "$file" >>"$tmp/.sha256"
  done < <(pinned_jars)
  log "fetching Kafka $version jars from $repo into $libs"
  curl -fsSL --no-progress-meter --retry 3 --retry-connrefused --parallel --parallel-max 8 -K "$cfg" >&2 || {
    log "download failed"
    rm -rf "$tmp"
    exit 1
  }
  (cd "$tmp" && sha256sum --quiet -c .sha256 >&2) || {
    log "checksum mismatch: refusing the downloaded jars"
    rm -rf "$tmp"
    exit 1
  }
  rm -f "$cfg"
  touch "$tmp/.complete"
  rm -rf "$libs"
  mv "$tmp" "$libs"
}

ensure_java() {
  if ! command -v java >/dev/null 2>&1; then
    log "java not found; installing the Debian package openjdk-17-jre-headless"
    if [ "$(id -u)" != 0 ]; then
      log "run as root, or install Java 17 or later yourself"
      exit 1
    fi
    apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y openjdk-17-jre-headless >&2
  fi
  local major
  major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
  if [ "${major%%.*}" -lt 17 ] 2>/dev/null; then
    log "Kafka $version needs Java 17 or later; found $major"
    exit 1
  fi
}

# Five ports, held together while they are chosen so that they differ.
free_ports() {
  node -e '
    const net = require("net");
    const servers = Array.from({ length: 5 }, () => net.createServer());
    let n = 0;
    for (const s of servers) s.listen(0, "127.0.0.1", () => {
      if (++n < servers.length) return;
      console.log(servers.map((x) => x.address().port).join(" "));
      for (const x of servers) x.close();
    });'
}

make_certs() {
  local d="$state/tls"
  mkdir -p "$d"
  (
    cd "$d"
    openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 3650 \
      -subj "/CN=conduit-test-ca" 2>/dev/null
    for who in server client; do
      local usage=serverAuth
      [ "$who" = client ] && usage=clientAuth
      openssl req -newkey rsa:2048 -nodes -keyout "$who.key" -out "$who.csr" -subj "/CN=conduit-test-$who" 2>/dev/null
      printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=%s\n' \
        "$usage" >"$who.ext"
      openssl x509 -req -in "$who.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$who.pem" -days 3650 \
        -extfile "$who.ext" 2>/dev/null
      rm -f "$who.csr" "$who.ext"
    done
    openssl pkcs12 -export -in server.pem -inkey server.key -certfile ca.pem -name kafka \
      -out server.p12 -passout "pass:$tls_password"
  )
}

write_config() {
  local jaas_plain jaas_scram l
  jaas_plain="org.apache.kafka.common.security.plain.PlainLoginModule required user_$sasl_user=\"$sasl_password\";"
  jaas_scram="org.apache.kafka.common.security.scram.ScramLoginModule required;"
  cat >"$state/server.properties" <<PROPS
# A single KRaft node for tests (scripts/servers/kafka.sh).
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$port_controller
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listeners=PLAINTEXT://127.0.0.1:$port_plain,SSL://127.0.0.1:$port_ssl,SASL_SSL://127.0.0.1:$port_sasl_ssl,SASL_PLAINTEXT://127.0.0.1:$port_sasl_plain,CONTROLLER://127.0.0.1:$port_controller
advertised.listeners=PLAINTEXT://127.0.0.1:$port_plain,SSL://127.0.0.1:$port_ssl,SASL_SSL://127.0.0.1:$port_sasl_ssl,SASL_PLAINTEXT://127.0.0.1:$port_sasl_plain
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_SSL:SASL_SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$state/data
auto.create.topics.enable=true
num.partitions=1
# One node: internal topics with one replica and few partitions, no waiting for more members.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# Let tests use short session timeouts, so a departed member is noticed quickly.
group.min.session.timeout.ms=1000
group.consumer.min.session.timeout.ms=1000
group.consumer.session.timeout.ms=10000
group.consumer.min.heartbeat.interval.ms=500
group.consumer.heartbeat.interval.ms=1000
# TLS: the broker's key pair, and the CA that signs client certificates.
ssl.keystore.type=PKCS12
ssl.keystore.location=$state/tls/server.p12
ssl.keystore.password=$tls_password
ssl.key.password=$tls_password
ssl.truststore.type=PEM
ssl.truststore.location=$state/tls/ca.pem
ssl.client.auth=none
listener.name.ssl.ssl.client.auth=required
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
PROPS
  for l in sasl_ssl sasl_plaintext; do
    cat >>"$state/server.properties" <<PROPS
listener.name.$l.sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512
listener.name.$l.plain.sasl.jaas.config=$jaas_plain
listener.name.$l.scram-sha-256.sasl.jaas.config=$jaas_scram
listener.name.$l.scram-sha-512.sasl.jaas.config=$jaas_scram
PROPS
  done
  cat >"$state/log4j2.properties" <<'PROPS'
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = warn
rootLogger.appenderRef.out.ref = OUT
logger.server.name = kafka.server.KafkaRaftServer
logger.server.level = info
PROPS
}

save_state() {
  cat >"$state/kafka.env" <<ENV
port_plain=$port_plain
port_ssl=$port_ssl
port_sasl_ssl=$port_sasl_ssl
port_sasl_plain=$port_sasl_plain
port_controller=$port_controller
ENV
}

print_exports() {
  echo "export CONDUIT_TEST_KAFKA_SERVERS=127.0.0.1:$port_plain"
  echo "export CONDUIT_TEST_KAFKA_SSL_SERVERS=127.0.0.1:$port_ssl"
  echo "export CONDUIT_TEST_KAFKA_SASL_SSL_SERVERS=127.0.0.1:$port_sasl_ssl"
  echo "export CONDUIT_TEST_KAFKA_SASL_PLAINTEXT_SERVERS=127.0.0.1:$port_sasl_plain"
  echo "export CONDUIT_TEST_KAFKA_CA_CERT=$state/tls/ca.pem"
  echo "export CONDUIT_TEST_KAFKA_CLIENT_CERT=$state/tls/client.pem"
  echo "export CONDUIT_TEST_KAFKA_CLIENT_KEY=$state/tls/client.key"
  echo "export CONDUIT_TEST_KAFKA_SASL_USERNAME=$sasl_user"
  echo "export CONDUIT_TEST_KAFKA_SASL_PASSWORD=$sasl_password"
  echo "export CONDUIT_TEST_KAFKA_DIR=$state"
  echo "export CONDUIT_TEST_KAFKA_LIBS=$libs"
}

running() {
  local pid
  pid="$(cat "$state/broker.pid" 2>/dev/null)" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

launch() {
  local opts="${CONDUIT_TEST_KAFKA_JVM_OPTS:--Xms256m -Xmx768m -XX:+UseG1GC -XX:MaxGCPauseMillis=20}"
  [ -f "$state/broker.log" ] && mv -f "$state/broker.log" "$state/broker.log.1"
  rm -f "$state/broker.pid"
  # Its own session, so that the broker outlives the shell (or test) that started it.
  # shellcheck disable=SC2086
  setsid bash -c 'echo $$ >"$0/broker.pid"; exec "$@"' "$state" \
    java $opts -Djava.awt.headless=true -XX:+ExitOnOutOfMemoryError \
    "-Dlog4j2.configurationFile=$state/log4j2.properties" -cp "$libs/*" \
    kafka.Kafka "$state/server.properties" </dev/null >"$state/broker.log" 2>&1 &
  local deadline=$((SECONDS + 90))
  until grep -q 'Kafka Server started' "$state/broker.log" 2>/dev/null; do
    if [ $SECONDS -ge $deadline ] || { [ -f "$state/broker.pid" ] && ! running; }; then
      log "the broker did not start; the end of $state/broker.log:"
      tail -n 30 "$state/broker.log" >&2 || true
      exit 1
    fi
    sleep 0.2
  done
}

start() {
  local t0=$SECONDS
  if [ -f "$state/kafka.env" ]; then
    # shellcheck disable=SC1091
    . "$state/kafka.env"
    if running; then
      print_exports
      return 0
    fi
    if [ -f "$state/data/meta.properties" ]; then
      log "the broker in $state is not running; starting it again on its ports with its data"
      ensure_java
      fetch_jars
      launch
      log "broker started again in $((SECONDS - t0)) s"
      print_exports
      return 0
    fi
    rm -rf "$state"
  fi
  ensure_java
  fetch_jars
  mkdir -p "$state"
  read -r port_plain port_ssl port_sasl_ssl port_sasl_plain port_controller < <(free_ports)
  make_certs
  write_config
  local id
  # A cluster id is 16 random bytes in URL-safe base64 (what StorageTool random-uuid prints, without a JVM);
  # it may start with "-", hence --cluster-id=.
  id="$(openssl rand 16 | base64 | tr "+/" "-_" | tr -d "=")"
  java "-Dlog4j2.configurationFile=$state/log4j2.properties" -cp "$libs/*" kafka.tools.StorageTool format \
    --cluster-id="$id" -c "$state/server.properties" \
    --add-scram "SCRAM-SHA-256=[name=$sasl_user,password=$sasl_password]" \
    --add-scram "SCRAM-SHA-512=[name=$sasl_user,password=$sasl_password]" >"$state/format.log" 2>&1 || {
    cat "$state/format.log" >&2
    exit 1
  }
  save_state
  launch
  log "broker started in $((SECONDS - t0)) s (PLAINTEXT 127.0.0.1:$port_plain)"
  print_exports
}

stop() {
  if [ ! -f "$state/kafka.env" ]; then
    log "no broker recorded in $state"
    return 0
  fi
  local pid i
  pid="$(cat "$state/broker.pid" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 150); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$state"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac

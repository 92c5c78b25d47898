// A Java service sending interactions to the recommender, as the README's "Java and Go producers"
// section says: key = user_id (UTF-8), the Java client's default partitioner (murmur2 of the key,
// the same as the Python client's murmur2_random and faust's), idempotent, JSON values that follow
// schemas/json/interaction.schema.json.
//
// Run by tests/integration/test_java_producer.py with the broker's own jars on the class path:
//   java -cp '<kafka libs>/*' tests/java/ProduceInteractions.java BOOTSTRAP TOPIC < lines
// Each input line is "user_id<TAB>json"; each output line is "user_id<TAB>partition".
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Properties;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.StringSerializer;

public class ProduceInteractions {
    public static void main(String[] args) throws Exception {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        // no partitioner.class: the default hashes the key with murmur2, as the worker expects
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(props);
             BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                String[] parts = line.split("\t", 2);
                RecordMetadata meta = producer.send(new ProducerRecord<>(args[1], parts[0], parts[1])).get();
                System.out.println(parts[0] + "\t" + meta.partition());
            }
        }
    }
}

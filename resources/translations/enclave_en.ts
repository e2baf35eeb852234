<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en">
<context>
    <name>Counts</name>
    <message numerus="yes">
        <source>%n token(s)</source>
        <translation>
            <numerusform>%n token</numerusform>
            <numerusform>%n tokens</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>prompt: %n token(s)</source>
        <translation>
            <numerusform>prompt: %n token</numerusform>
            <numerusform>prompt: %n tokens</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n page(s)</source>
        <translation>
            <numerusform>%n page</numerusform>
            <numerusform>%n pages</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Serving; %n request(s) answered.</source>
        <translation>
            <numerusform>Serving; %n request answered.</numerusform>
            <numerusform>Serving; %n requests answered.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>No source cited (%n passage(s) were given to the model).</source>
        <translation>
            <numerusform>No source cited (%n passage was given to the model).</numerusform>
            <numerusform>No source cited (%n passages were given to the model).</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Organization policy: %n problem(s)</source>
        <translation>
            <numerusform>Organization policy: %n problem</numerusform>
            <numerusform>Organization policy: %n problems</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>Deleted %n conversation(s) not used for longer than the retention period.</source>
        <translation>
            <numerusform>Deleted %n conversation not used for longer than the retention period.</numerusform>
            <numerusform>Deleted %n conversations not used for longer than the retention period.</numerusform>
        </translation>
    </message>
</context>
</TS>
